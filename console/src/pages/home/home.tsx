import ContentLayout from "@cloudscape-design/components/content-layout";
import Container from "@cloudscape-design/components/container";
import Header from "@cloudscape-design/components/header";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { pages, SECTIONS } from "..";
import { followLink, href } from "../../router";
import { useSession } from "../../session";

export default function Home() {
  const { session } = useSession();
  return (
    <ContentLayout
      header={
        <Header variant="h1" description={`Signed in as ${session.arn}`}>
          keyhold console
        </Header>
      }
    >
      <SpaceBetween size="l">
        {SECTIONS.map((section) => {
          const links = pages.filter((p) => p.section === section && p.nav !== false);
          if (links.length === 0) return null;
          return (
            <Container key={section} header={<Header variant="h2">{section}</Header>}>
              <SpaceBetween size="xs" direction="horizontal">
                {links.map((p) => (
                  <Link key={p.path} href={href(p.path)} onFollow={followLink}>
                    {p.title}
                  </Link>
                ))}
              </SpaceBetween>
            </Container>
          );
        })}
      </SpaceBetween>
    </ContentLayout>
  );
}

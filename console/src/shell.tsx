/** The frame around every page: top navigation (who is signed in, sign out), side navigation, messages. */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type ComponentType, type LazyExoticComponent } from "react";
import AppLayout from "@cloudscape-design/components/app-layout";
import Flashbar, { type FlashbarProps } from "@cloudscape-design/components/flashbar";
import SideNavigation, { type SideNavigationProps } from "@cloudscape-design/components/side-navigation";
import Spinner from "@cloudscape-design/components/spinner";
import TopNavigation from "@cloudscape-design/components/top-navigation";
import Alert from "@cloudscape-design/components/alert";
import { pages, SECTIONS, type PageEntry, type PageProps } from "./pages";
import { followLink, href, matchPath, useRoute } from "./router";
import { useSession } from "./session";
import { ErrorBoundary } from "./errors";
import { errorFlash, FlashContext, flashItem, type Notify } from "./flash";

const loaded = new Map<PageEntry, LazyExoticComponent<ComponentType<PageProps>>>();
function pageComponent(entry: PageEntry) {
  let component = loaded.get(entry);
  if (!component) loaded.set(entry, (component = lazy(entry.load)));
  return component;
}

function findPage(path: string): { entry: PageEntry; params: Record<string, string> } | undefined {
  for (const entry of pages) {
    const params = matchPath(entry.path, path);
    if (params) return { entry, params };
  }
  return undefined;
}

function navigationItems(): SideNavigationProps.Item[] {
  const items: SideNavigationProps.Item[] = [];
  for (const section of SECTIONS) {
    const links = pages.filter((p) => p.section === section && p.nav !== false);
    if (links.length === 0) continue;
    items.push({
      type: "section",
      text: section,
      defaultExpanded: true,
      items: links.map((p) => ({ type: "link" as const, text: p.title, href: href(p.path) })),
    });
  }
  return items;
}

export function Shell() {
  const { session, signOut } = useSession();
  const path = useRoute();
  const [flashes, setFlashes] = useState<FlashbarProps.MessageDefinition[]>([]);
  const dismiss = useCallback((id: string) => setFlashes((all) => all.filter((f) => f.id !== id)), []);
  const notify = useMemo<Notify>(
    () => ({
      success: (content) => setFlashes((all) => [flashItem("success", "Done", content, dismiss), ...all].slice(0, 5)),
      error: (error, header) => setFlashes((all) => [errorFlash(error, header, dismiss), ...all].slice(0, 5)),
    }),
    [dismiss],
  );
  // Messages belong to the page they were shown on.
  useEffect(() => setFlashes((all) => all.filter((f) => f.type === "success")), [path]);
  // Temporary credentials end at their expiration: the console signs out then rather than
  // showing a page of ExpiredToken errors.
  useEffect(() => {
    const expiration = session.credentials.expiration;
    if (!expiration) return undefined;
    const timer = setTimeout(signOut, Math.max(0, expiration.getTime() - Date.now()));
    return () => clearTimeout(timer);
  }, [session, signOut]);

  const found = findPage(path);
  const Page = found ? pageComponent(found.entry) : undefined;
  const activeHref = href(found ? (found.entry.nav === false ? sectionHome(found.entry) : found.entry.path) : "/");
  useEffect(() => {
    document.title = `${found?.entry.title ?? "Not found"} | keyhold`;
  }, [found?.entry]);

  return (
    <FlashContext.Provider value={notify}>
      <div id="kh-top" style={{ position: "sticky", top: 0, zIndex: 1002 }}>
        <TopNavigation
          identity={{ href: "#/", title: "keyhold", onFollow: followLink }}
          utilities={[
            { type: "button", text: session.region, iconName: "globe" },
            {
              type: "menu-dropdown",
              text: session.name,
              description: `${session.arn} (account ${session.account})`,
              iconName: "user-profile",
              items: [{ id: "signout", text: "Sign out" }],
              onItemClick: ({ detail }) => {
                if (detail.id === "signout") signOut();
              },
            },
          ]}
        />
      </div>
      <AppLayout
        headerSelector="#kh-top"
        toolsHide
        notifications={<Flashbar items={flashes} />}
        navigation={
          <SideNavigation
            activeHref={activeHref}
            header={{ href: "#/", text: "Console" }}
            items={navigationItems()}
            onFollow={followLink}
          />
        }
        content={
          <ErrorBoundary resetKey={path}>
            <Suspense fallback={<Spinner size="large" />}>
              {Page && found ? (
                <Page params={found.params} path={path} />
              ) : (
                <Alert type="warning" header="Page not found">
                  No console page at {path}.
                </Alert>
              )}
            </Suspense>
          </ErrorBoundary>
        }
      />
    </FlashContext.Provider>
  );
}

/** The side-navigation entry a detail page or wizard belongs under: its section's first page. */
function sectionHome(entry: PageEntry): string {
  return pages.find((p) => p.section === entry.section && p.nav !== false)?.path ?? "/";
}

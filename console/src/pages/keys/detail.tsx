/** One key: its configuration and what depends on it. */
import { useEffect, useState } from "react";
import { DescribeKeyCommand, KMSClient, type KeyMetadata } from "@aws-sdk/client-kms";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Spinner from "@cloudscape-design/components/spinner";
import Tabs from "@cloudscape-design/components/tabs";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { KeyDependencies } from "./dependencies";
import { KeyStateIndicator } from "./state";

export default function KeyDetail({ params }: PageProps) {
  const kms = useClient(KMSClient);
  const [key, setKey] = useState<KeyMetadata | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    kms
      .send(new DescribeKeyCommand({ KeyId: params.keyId }))
      .then((out) => live && setKey(out.KeyMetadata))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, params.keyId]);
  if (error) return <ErrorAlert error={error} />;
  if (!key) return <Spinner size="large" />;
  return (
    <ContentLayout header={<Header variant="h1">{key.KeyId}</Header>}>
      <Tabs
        tabs={[
          {
            id: "general",
            label: "General configuration",
            content: (
              <Container>
                <KeyValuePairs
                  columns={3}
                  items={[
                    { label: "ARN", value: key.Arn },
                    { label: "Status", value: <KeyStateIndicator state={key.KeyState ?? ""} /> },
                    { label: "Description", value: key.Description || "-" },
                  ]}
                />
              </Container>
            ),
          },
          { id: "dependencies", label: "Dependencies", content: <KeyDependencies keyArn={key.Arn ?? ""} /> },
        ]}
      />
    </ContentLayout>
  );
}

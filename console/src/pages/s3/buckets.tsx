/** S3: the buckets of this account with their default encryption; create a bucket. */
import { useState } from "react";
import { CreateBucketCommand, GetBucketEncryptionCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { followLink, href } from "../../router";
import { mapLimited } from "../../data/clients";
import { useLoad, when } from "../shared/use-load";
import { encryptionText } from "./encryption";

interface Row {
  name: string;
  created?: Date;
  encryption: string;
}

/** S3's bucket naming rules (the common ones): 3–63 lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export default function Buckets() {
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const notify = useNotify();
  const [name, setName] = useState("");
  const [creating, setCreating] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const buckets = useLoad(async () => {
    const out = await s3.send(new ListBucketsCommand({}));
    const list = (out.Buckets ?? []).filter((b) => b.Name);
    return mapLimited(list, 6, async (b): Promise<Row> => {
      try {
        const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: b.Name! }));
        return { name: b.Name!, created: b.CreationDate, encryption: encryptionText(enc.ServerSideEncryptionConfiguration?.Rules?.[0]) };
      } catch (e) {
        return { name: b.Name!, created: b.CreationDate, encryption: `${describeError(e).code}` };
      }
    });
  }, [s3]);
  const nameError =
    name && !BUCKET.test(name)
      ? "3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
      : undefined;
  const create = async () => {
    setCreating(true);
    setRefusal(undefined);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      notify.success(`Bucket ${name} created.`);
      setName("");
      buckets.reload();
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    } finally {
      setCreating(false);
    }
  };
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={buckets.error} />
      <Table<Row>
        data-testid="buckets-table"
        variant="full-page"
        loading={buckets.loading && !buckets.value}
        loadingText="Loading buckets"
        items={buckets.value ?? []}
        trackBy="name"
        empty="No buckets."
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={buckets.value ? `(${buckets.value.length})` : undefined}
            actions={<Button iconName="refresh" ariaLabel="Refresh" onClick={buckets.reload} />}
          >
            Buckets
          </Header>
        }
        filter={
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void create();
            }}
          >
            <SpaceBetween size="xs" direction="horizontal" alignItems="end">
              <FormField label="New bucket" errorText={nameError ?? refusal}>
                <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="Bucket name" placeholder="my-bucket" />
              </FormField>
              <Button variant="primary" loading={creating} disabled={!name || !!nameError}>
                Create bucket
              </Button>
            </SpaceBetween>
          </form>
        }
        columnDefinitions={[
          {
            id: "name",
            header: "Name",
            cell: (b) => (
              <Link href={href(`/s3/${encodeURIComponent(b.name)}`)} onFollow={followLink}>
                {b.name}
              </Link>
            ),
          },
          { id: "encryption", header: "Default encryption", cell: (b) => b.encryption },
          { id: "created", header: "Created", cell: (b) => when(b.created) },
        ]}
      />
    </SpaceBetween>
  );
}

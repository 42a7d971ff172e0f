/**
 * One bucket: its objects (with each object's encryption and key, upload and download), its
 * default encryption and its bucket policy, both editable. Object keys, policy text and metadata
 * are shown as text only.
 */
import { useEffect, useState } from "react";
import {
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  type _Object,
} from "@aws-sdk/client-s3";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Checkbox from "@cloudscape-design/components/checkbox";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import FileUpload from "@cloudscape-design/components/file-upload";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import RadioGroup from "@cloudscape-design/components/radio-group";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Tabs from "@cloudscape-design/components/tabs";
import Textarea from "@cloudscape-design/components/textarea";
import type { PageProps } from "..";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { mapLimited } from "../../data/clients";
import { useLoad, when } from "../shared/use-load";
import { KeySelect } from "../secrets/key-select";
import { encryptionText, objectEncryption } from "./encryption";

const S3_MANAGED = "alias/aws/s3";
/** The console uploads with one PutObject, in memory: larger files are for the CLI's multipart upload. */
const MAX_UPLOAD = 100 * 1024 * 1024;
const PAGE = 100;

export default function Bucket({ params }: PageProps) {
  const bucket = params.bucket ?? "";
  return (
    <ContentLayout header={<Header variant="h1">{bucket}</Header>}>
      <Tabs
        tabs={[
          { id: "objects", label: "Objects", content: <Objects bucket={bucket} /> },
          { id: "properties", label: "Default encryption", content: <DefaultEncryption bucket={bucket} /> },
          { id: "permissions", label: "Bucket policy", content: <BucketPolicy bucket={bucket} /> },
        ]}
      />
    </ContentLayout>
  );
}

interface ObjectRow {
  key: string;
  size?: number;
  modified?: Date;
  encryption?: string;
  kmsKey?: string;
}

function Objects({ bucket }: { bucket: string }) {
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const notify = useNotify();
  const [prefix, setPrefix] = useState("");
  const [applied, setApplied] = useState("");
  const [rows, setRows] = useState<ObjectRow[] | undefined>(undefined);
  const [token, setToken] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [reload, setReload] = useState(0);
  const [selected, setSelected] = useState<ObjectRow[]>([]);

  const describe = async (objects: _Object[]): Promise<ObjectRow[]> =>
    mapLimited(objects, 6, async (o) => {
      const row: ObjectRow = { key: o.Key!, size: o.Size, modified: o.LastModified };
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key! }));
        return { ...row, encryption: objectEncryption(head), kmsKey: head.SSEKMSKeyId };
      } catch (e) {
        // HeadObject of an SSE-C object needs its key: S3 answers 400 without it.
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        return { ...row, encryption: status === 400 ? "SSE-C (customer key)" : describeError(e).code };
      }
    });

  const load = async (continuation: string | undefined, live: () => boolean) => {
    setError(undefined);
    try {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: applied || undefined, ContinuationToken: continuation, MaxKeys: PAGE }),
      );
      const described = await describe((page.Contents ?? []).filter((o) => o.Key !== undefined));
      if (!live()) return;
      setRows((before) => (continuation ? [...(before ?? []), ...described] : described));
      setToken(page.IsTruncated ? page.NextContinuationToken : undefined);
    } catch (e) {
      if (live()) setError(e);
    }
  };
  useEffect(() => {
    let live = true;
    setRows(undefined);
    setSelected([]);
    void load(undefined, () => live);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [s3, bucket, applied, reload]);

  const download = async (row: ObjectRow) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: row.key }));
      const bytes = await out.Body!.transformToByteArray();
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: out.ContentType ?? "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = row.key.split("/").pop() || "download";
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      notify.error(e, `Download of ${row.key} refused`);
    }
  };
  const remove = async (row: ObjectRow) => {
    try {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: row.key }));
      notify.success(`${row.key} deleted.`);
      setReload((n) => n + 1);
    } catch (e) {
      notify.error(e);
    }
  };

  return (
    <SpaceBetween size="l">
      <ErrorAlert error={error} />
      <Table<ObjectRow>
        data-testid="objects-table"
        variant="container"
        loading={rows === undefined && !error}
        loadingText="Loading objects"
        items={rows ?? []}
        trackBy="key"
        selectionType="single"
        selectedItems={selected}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        empty="No objects."
        header={
          <Header
            variant="h2"
            counter={rows ? `(${rows.length}${token ? "+" : ""})` : undefined}
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <Button iconName="refresh" ariaLabel="Refresh objects" onClick={() => setReload((n) => n + 1)} />
                <Button disabled={selected.length === 0} onClick={() => void download(selected[0]!)}>
                  Download
                </Button>
                <Button disabled={selected.length === 0} onClick={() => void remove(selected[0]!)}>
                  Delete
                </Button>
              </SpaceBetween>
            }
          >
            Objects
          </Header>
        }
        filter={
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setApplied(prefix);
            }}
          >
            <SpaceBetween size="xs" direction="horizontal">
              <Input
                value={prefix}
                onChange={({ detail }) => setPrefix(detail.value)}
                placeholder="Find objects by prefix"
                ariaLabel="Prefix"
                type="search"
              />
              <Button>Find</Button>
            </SpaceBetween>
          </form>
        }
        footer={
          token && (
            <Box textAlign="center">
              <Button onClick={() => void load(token, () => true)}>Load more objects</Button>
            </Box>
          )
        }
        columnDefinitions={[
          { id: "key", header: "Key", cell: (o) => o.key },
          { id: "size", header: "Size", cell: (o) => (o.size === undefined ? "-" : `${o.size} B`) },
          { id: "modified", header: "Last modified", cell: (o) => when(o.modified) },
          { id: "encryption", header: "Encryption", cell: (o) => o.encryption ?? "-" },
          { id: "kmsKey", header: "KMS key", cell: (o) => o.kmsKey ?? "-" },
        ]}
      />
      <Upload bucket={bucket} prefix={applied} onUploaded={() => setReload((n) => n + 1)} />
    </SpaceBetween>
  );
}

function Upload({ bucket, prefix, onUploaded }: { bucket: string; prefix: string; onUploaded(): void }) {
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const notify = useNotify();
  const [files, setFiles] = useState<File[]>([]);
  const [key, setKey] = useState("");
  const [mode, setMode] = useState("default");
  const [kmsKey, setKmsKey] = useState(S3_MANAGED);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const file = files[0];
  const tooLarge =
    file && file.size > MAX_UPLOAD ? `At most ${MAX_UPLOAD / 1024 / 1024} MiB from the console; use the CLI for larger files.` : undefined;
  const upload = async () => {
    if (!file) return;
    setBusy(true);
    setRefusal(undefined);
    try {
      const body = new Uint8Array(await file.arrayBuffer());
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key || `${prefix}${file.name}`,
          Body: body,
          ContentType: file.type || undefined,
          ServerSideEncryption: mode === "kms" ? "aws:kms" : mode === "s3" ? "AES256" : undefined,
          SSEKMSKeyId: mode === "kms" && kmsKey !== S3_MANAGED ? kmsKey : undefined,
        }),
      );
      notify.success(`${key || prefix + file.name} uploaded.`);
      setFiles([]);
      setKey("");
      onUploaded();
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Container header={<Header variant="h2">Upload</Header>}>
      <SpaceBetween size="m">
        <FormField label="File" errorText={tooLarge ?? refusal}>
          <FileUpload
            value={files}
            onChange={({ detail }) => setFiles(detail.value)}
            showFileSize
            i18nStrings={{ uploadButtonText: () => "Choose file", removeFileAriaLabel: () => "Remove file" }}
          />
        </FormField>
        <FormField label="Object key" description="Defaults to the prefix and the file's name.">
          <Input
            value={key}
            placeholder={file ? `${prefix}${file.name}` : ""}
            onChange={({ detail }) => setKey(detail.value)}
            ariaLabel="Object key"
          />
        </FormField>
        <FormField label="Server-side encryption">
          <RadioGroup
            value={mode}
            onChange={({ detail }) => setMode(detail.value)}
            items={[
              { value: "default", label: "The bucket's default encryption" },
              { value: "s3", label: "SSE-S3 (keys managed by S3)" },
              { value: "kms", label: "SSE-KMS (a KMS key)" },
            ]}
          />
        </FormField>
        {mode === "kms" && (
          <FormField label="KMS key">
            <KeySelect value={kmsKey} onChange={setKmsKey} managed={S3_MANAGED} />
          </FormField>
        )}
        <Button variant="primary" disabled={!file || !!tooLarge} loading={busy} onClick={() => void upload()}>
          Upload
        </Button>
      </SpaceBetween>
    </Container>
  );
}

function DefaultEncryption({ bucket }: { bucket: string }) {
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const notify = useNotify();
  const current = useLoad(() => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })), [s3, bucket]);
  const rule = current.value?.ServerSideEncryptionConfiguration?.Rules?.[0];
  const [mode, setMode] = useState<string | undefined>(undefined);
  const [kmsKey, setKmsKey] = useState<string | undefined>(undefined);
  const [bucketKey, setBucketKey] = useState<boolean | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const shownMode = mode ?? (rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm?.startsWith("aws:kms") ? "kms" : "s3");
  const shownKey = kmsKey ?? (rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID || S3_MANAGED);
  const shownBucketKey = bucketKey ?? rule?.BucketKeyEnabled ?? false;
  const save = async () => {
    setError(undefined);
    try {
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault:
                  shownMode === "kms"
                    ? { SSEAlgorithm: "aws:kms", KMSMasterKeyID: shownKey === S3_MANAGED ? undefined : shownKey }
                    : { SSEAlgorithm: "AES256" },
                BucketKeyEnabled: shownMode === "kms" ? shownBucketKey : undefined,
              },
            ],
          },
        }),
      );
      notify.success("Default encryption saved.");
      setMode(undefined);
      setKmsKey(undefined);
      setBucketKey(undefined);
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  const reset = async () => {
    setError(undefined);
    try {
      await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
      notify.success("Default encryption back to SSE-S3.");
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Container header={<Header variant="h2">Default encryption</Header>}>
      <SpaceBetween size="m">
        <ErrorAlert error={current.error ?? error} />
        <KeyValuePairs items={[{ label: "Current", value: current.value ? encryptionText(rule) : "-" }]} />
        <FormField label="Encryption type">
          <RadioGroup
            value={shownMode}
            onChange={({ detail }) => setMode(detail.value)}
            items={[
              { value: "s3", label: "SSE-S3 (keys managed by S3)" },
              { value: "kms", label: "SSE-KMS (a KMS key)" },
            ]}
          />
        </FormField>
        {shownMode === "kms" && (
          <>
            <FormField label="KMS key">
              <KeySelect value={shownKey} onChange={setKmsKey} managed={S3_MANAGED} />
            </FormField>
            <Checkbox checked={shownBucketKey} onChange={({ detail }) => setBucketKey(detail.checked)}>
              Bucket key (fewer calls to KMS)
            </Checkbox>
          </>
        )}
        <SpaceBetween size="xs" direction="horizontal">
          <Button variant="primary" onClick={() => void save()}>
            Save default encryption
          </Button>
          <Button onClick={() => void reset()}>Reset to SSE-S3</Button>
        </SpaceBetween>
      </SpaceBetween>
    </Container>
  );
}

/** A bucket policy's shape, checked before it is sent; S3 then checks the rest (MalformedPolicy). */
export function policyProblem(text: string): string | undefined {
  if (text.trim() === "") return "The policy is empty.";
  if (new TextEncoder().encode(text).length > 20 * 1024) return "A bucket policy is at most 20 KB.";
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `Not JSON: ${(e as Error).message}`;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "The policy is a JSON object.";
  const statement = (doc as { Statement?: unknown }).Statement;
  if (statement === undefined) return "The policy has no Statement.";
  const statements = Array.isArray(statement) ? statement : [statement];
  for (const [i, s] of statements.entries()) {
    if (typeof s !== "object" || s === null) return `Statement ${i + 1} is not an object.`;
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Allow" && st.Effect !== "Deny") return `Statement ${i + 1}: Effect is Allow or Deny.`;
    if (st.Action === undefined && st.NotAction === undefined) return `Statement ${i + 1} has no Action.`;
    if (st.Resource === undefined && st.NotResource === undefined) return `Statement ${i + 1} has no Resource.`;
    if (st.Principal === undefined && st.NotPrincipal === undefined)
      return `Statement ${i + 1} has no Principal (a bucket policy needs one).`;
  }
  return undefined;
}

function BucketPolicy({ bucket }: { bucket: string }) {
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const notify = useNotify();
  const current = useLoad(async () => {
    try {
      return (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? "";
    } catch (e) {
      if ((e as Error).name === "NoSuchBucketPolicy") return "";
      throw e;
    }
  }, [s3, bucket]);
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const text = draft ?? pretty(current.value ?? "");
  const problem = draft !== undefined ? policyProblem(draft) : undefined;
  const save = async () => {
    setError(undefined);
    try {
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: text }));
      notify.success("Bucket policy saved.");
      setDraft(undefined);
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async () => {
    setError(undefined);
    try {
      await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      notify.success("Bucket policy deleted.");
      setDraft(undefined);
      current.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Container header={<Header variant="h2">Bucket policy</Header>}>
      <SpaceBetween size="m">
        <ErrorAlert error={current.error ?? error} />
        <FormField
          label="Policy (JSON)"
          errorText={problem}
          description={current.value === "" && draft === undefined ? "This bucket has no policy." : undefined}
        >
          <Textarea value={text} onChange={({ detail }) => setDraft(detail.value)} rows={16} spellcheck={false} ariaLabel="Bucket policy" />
        </FormField>
        <SpaceBetween size="xs" direction="horizontal">
          <Button variant="primary" disabled={draft === undefined || !!problem} onClick={() => void save()}>
            Save policy
          </Button>
          <Button disabled={!current.value} onClick={() => void remove()}>
            Delete policy
          </Button>
        </SpaceBetween>
      </SpaceBetween>
    </Container>
  );
}

function pretty(text: string): string {
  try {
    return text ? JSON.stringify(JSON.parse(text), null, 2) : "";
  } catch {
    return text;
  }
}

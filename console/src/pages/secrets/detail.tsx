/**
 * One secret: its configuration, its value (fetched only when asked, and forgotten when the page is
 * left or hidden again), its versions with their staging labels, rotation, deletion.
 */
import { useState } from "react";
import {
  CancelRotateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  paginateListSecretVersionIds,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretVersionsListEntry,
} from "@aws-sdk/client-secrets-manager";
import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Checkbox from "@cloudscape-design/components/checkbox";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Spinner from "@cloudscape-design/components/spinner";
import Table from "@cloudscape-design/components/table";
import Textarea from "@cloudscape-design/components/textarea";
import type { PageProps } from "..";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { useLoad, when } from "../shared/use-load";
import { KeySelect, MANAGED } from "./key-select";

export default function SecretDetail({ params }: PageProps) {
  const sm = useClient(SecretsManagerClient);
  const id = params.name ?? "";
  const secret = useLoad(() => sm.send(new DescribeSecretCommand({ SecretId: id })), [sm, id]);
  const versions = useLoad(async () => {
    const all: SecretVersionsListEntry[] = [];
    for await (const page of paginateListSecretVersionIds({ client: sm }, { SecretId: id, IncludeDeprecated: true, MaxResults: 100 }))
      all.push(...(page.Versions ?? []));
    return all;
  }, [sm, id]);
  const reload = () => {
    secret.reload();
    versions.reload();
  };

  if (secret.error) return <ErrorAlert error={secret.error} />;
  const s = secret.value;
  if (!s) return <Spinner size="large" />;
  return (
    <ContentLayout
      header={
        <Header variant="h1" actions={<SecretActions name={id} deleted={!!s.DeletedDate} onChange={reload} />}>
          {s.Name}
        </Header>
      }
    >
      <SpaceBetween size="l">
        {s.DeletedDate && (
          <Alert type="warning" header="Scheduled for deletion">
            This secret will be deleted on {when(s.DeletedDate)}. Restore it to use it again.
          </Alert>
        )}
        <Container header={<Header variant="h2">Secret details</Header>}>
          <KeyValuePairs
            columns={3}
            items={[
              { label: "Secret ARN", value: s.ARN },
              { label: "Encryption key", value: s.KmsKeyId ?? "aws/secretsmanager" },
              { label: "Description", value: s.Description || "-" },
              { label: "Created", value: when(s.CreatedDate) },
              { label: "Last changed", value: when(s.LastChangedDate) },
              { label: "Last retrieved", value: when(s.LastAccessedDate) },
            ]}
          />
        </Container>
        <SecretValue key={id} id={id} onChange={reload} />
        <Versions id={id} versions={versions.value} error={versions.error} loading={versions.loading} onChange={reload} />
        <Rotation id={id} secret={s} onChange={reload} />
        <EncryptionKey id={id} current={s.KmsKeyId} onChange={reload} />
      </SpaceBetween>
    </ContentLayout>
  );
}

/**
 * The value, only on request: it is fetched when "Retrieve secret value" is pressed, kept in this
 * component's state only, and dropped on "Hide" and when the component goes (navigation to any
 * other page or secret unmounts it; the parent keys it by secret).
 */
function SecretValue({ id, onChange }: { id: string; onChange(): void }) {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [value, setValue] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const retrieve = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const out = await sm.send(new GetSecretValueCommand({ SecretId: id }));
      setValue(out.SecretString ?? (out.SecretBinary ? `(binary, base64) ${toBase64(out.SecretBinary)}` : ""));
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const store = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: draft }));
      setDraft("");
      setEditing(false);
      setValue(undefined);
      notify.success("A new version of the secret is stored and labelled AWSCURRENT.");
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Container
      data-testid="secret-value"
      header={
        <Header
          variant="h2"
          description="The value is retrieved (GetSecretValue, recorded in the trail) only when you ask, and forgotten when you leave the page."
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              {value === undefined ? (
                <Button onClick={() => void retrieve()} loading={busy}>
                  Retrieve secret value
                </Button>
              ) : (
                <Button onClick={() => setValue(undefined)}>Hide secret value</Button>
              )}
              <Button onClick={() => setEditing(true)}>Store a new value</Button>
            </SpaceBetween>
          }
        >
          Secret value
        </Header>
      }
    >
      <SpaceBetween size="s">
        <ErrorAlert error={error} />
        {value === undefined ? (
          <Box color="text-body-secondary">Not retrieved.</Box>
        ) : (
          <Box variant="code">
            <pre data-testid="secret-value-text" style={{ margin: 0, whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
              {value}
            </pre>
          </Box>
        )}
        {editing && (
          <SpaceBetween size="xs">
            <FormField label="New value" description="Stored as a new version (PutSecretValue); the current one becomes AWSPREVIOUS.">
              <Textarea
                value={draft}
                onChange={({ detail }) => setDraft(detail.value)}
                ariaLabel="New secret value"
                rows={4}
                spellcheck={false}
              />
            </FormField>
            <SpaceBetween size="xs" direction="horizontal">
              <Button
                onClick={() => {
                  setDraft("");
                  setEditing(false);
                }}
              >
                Cancel
              </Button>
              <Button variant="primary" disabled={!draft} loading={busy} onClick={() => void store()}>
                Store new version
              </Button>
            </SpaceBetween>
          </SpaceBetween>
        )}
      </SpaceBetween>
    </Container>
  );
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function Versions(props: { id: string; versions?: SecretVersionsListEntry[]; error: unknown; loading: boolean; onChange(): void }) {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [selected, setSelected] = useState<SecretVersionsListEntry[]>([]);
  const [label, setLabel] = useState("AWSCURRENT");
  const [error, setError] = useState<unknown>(undefined);
  const holder = (props.versions ?? []).find((v) => v.VersionStages?.includes(label.trim()));
  const move = async () => {
    const target = selected[0];
    if (!target) return;
    setError(undefined);
    try {
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: props.id,
          VersionStage: label.trim(),
          MoveToVersionId: target.VersionId,
          RemoveFromVersionId: holder && holder.VersionId !== target.VersionId ? holder.VersionId : undefined,
        }),
      );
      notify.success(`${label.trim()} now labels version ${target.VersionId}.`);
      props.onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <SpaceBetween size="s">
      <ErrorAlert error={props.error ?? error} />
      <Table<SecretVersionsListEntry>
        data-testid="secret-versions"
        variant="container"
        loading={props.loading && !props.versions}
        items={props.versions ?? []}
        trackBy="VersionId"
        selectionType="single"
        selectedItems={selected}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        empty="No versions."
        header={
          <Header
            variant="h2"
            counter={props.versions ? `(${props.versions.length})` : undefined}
            description="Every version, deprecated ones (no label) included. Select one to move a staging label to it."
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <Input value={label} onChange={({ detail }) => setLabel(detail.value)} ariaLabel="Staging label" />
                <Button disabled={selected.length === 0 || !label.trim()} onClick={() => void move()}>
                  Move label here
                </Button>
              </SpaceBetween>
            }
          >
            Versions
          </Header>
        }
        columnDefinitions={[
          { id: "id", header: "Version ID", cell: (v) => v.VersionId },
          { id: "stages", header: "Staging labels", cell: (v) => (v.VersionStages?.length ? v.VersionStages.join(", ") : "(deprecated)") },
          { id: "created", header: "Created", cell: (v) => when(v.CreatedDate) },
          { id: "accessed", header: "Last retrieved", cell: (v) => when(v.LastAccessedDate) },
          { id: "key", header: "Encrypted under", cell: (v) => (v.KmsKeyIds ?? []).join(", ") || "-" },
        ]}
      />
    </SpaceBetween>
  );
}

interface RotationState {
  RotationEnabled?: boolean;
  RotationLambdaARN?: string;
  RotationRules?: { AutomaticallyAfterDays?: number; ScheduleExpression?: string; Duration?: string };
  LastRotatedDate?: Date;
  NextRotationDate?: Date;
}

function Rotation({ id, secret, onChange }: { id: string; secret: RotationState; onChange(): void }) {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [editing, setEditing] = useState(false);
  const [lambda, setLambda] = useState(secret.RotationLambdaARN ?? "");
  const [days, setDays] = useState(String(secret.RotationRules?.AutomaticallyAfterDays ?? ""));
  const [schedule, setSchedule] = useState(secret.RotationRules?.ScheduleExpression ?? "");
  const [now, setNow] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const daysNumber = Number(days);
  const daysError =
    days && (!Number.isInteger(daysNumber) || daysNumber < 1 || daysNumber > 1000) ? "A whole number of days, 1 to 1000." : undefined;
  const save = async () => {
    setError(undefined);
    try {
      await sm.send(
        new RotateSecretCommand({
          SecretId: id,
          RotationLambdaARN: lambda || undefined,
          RotationRules: days ? { AutomaticallyAfterDays: daysNumber } : schedule ? { ScheduleExpression: schedule } : undefined,
          RotateImmediately: now,
        }),
      );
      notify.success("Rotation configured.");
      setEditing(false);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const cancel = async () => {
    setError(undefined);
    try {
      await sm.send(new CancelRotateSecretCommand({ SecretId: id }));
      notify.success("Rotation turned off.");
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const rules = secret.RotationRules;
  return (
    <Container
      header={
        <Header
          variant="h2"
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              {secret.RotationEnabled && <Button onClick={() => void cancel()}>Turn off rotation</Button>}
              <Button onClick={() => setEditing((e) => !e)}>Edit rotation</Button>
            </SpaceBetween>
          }
        >
          Rotation configuration
        </Header>
      }
    >
      <SpaceBetween size="m">
        <ErrorAlert error={error} />
        <KeyValuePairs
          columns={3}
          items={[
            { label: "Rotation", value: secret.RotationEnabled ? "Enabled" : "Disabled" },
            {
              label: "Schedule",
              value: rules?.AutomaticallyAfterDays ? `Every ${rules.AutomaticallyAfterDays} days` : rules?.ScheduleExpression || "-",
            },
            { label: "Rotation function", value: secret.RotationLambdaARN || "-" },
            { label: "Last rotated", value: when(secret.LastRotatedDate) },
            { label: "Next rotation", value: when(secret.NextRotationDate) },
          ]}
        />
        {editing && (
          <SpaceBetween size="s">
            <FormField label="Rotation function ARN">
              <Input value={lambda} onChange={({ detail }) => setLambda(detail.value)} ariaLabel="Rotation function ARN" />
            </FormField>
            <FormField label="Rotate every (days)" errorText={daysError}>
              <Input value={days} inputMode="numeric" onChange={({ detail }) => setDays(detail.value)} ariaLabel="Rotation days" />
            </FormField>
            <FormField label="Or a schedule expression" description="rate(10 days) or cron(0 16 1,15 * ? *)">
              <Input
                value={schedule}
                disabled={!!days}
                onChange={({ detail }) => setSchedule(detail.value)}
                ariaLabel="Schedule expression"
              />
            </FormField>
            <Checkbox checked={now} onChange={({ detail }) => setNow(detail.checked)}>
              Rotate immediately
            </Checkbox>
            <Button variant="primary" disabled={!!daysError} onClick={() => void save()}>
              Save rotation
            </Button>
          </SpaceBetween>
        )}
      </SpaceBetween>
    </Container>
  );
}

function EncryptionKey({ id, current, onChange }: { id: string; current?: string; onChange(): void }) {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [key, setKey] = useState(current ?? MANAGED);
  const [error, setError] = useState<unknown>(undefined);
  const save = async () => {
    setError(undefined);
    try {
      await sm.send(new UpdateSecretCommand({ SecretId: id, KmsKeyId: key === MANAGED ? "" : key }));
      notify.success("Encryption key changed; the labelled versions are re-encrypted under it.");
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Container header={<Header variant="h2">Encryption key</Header>}>
      <SpaceBetween size="s">
        <ErrorAlert error={error} />
        <FormField
          label="KMS key"
          description="Versions labelled AWSCURRENT, AWSPREVIOUS or AWSPENDING are re-encrypted under the new key."
        >
          <KeySelect value={key} onChange={setKey} />
        </FormField>
        <Button disabled={key === (current ?? MANAGED)} onClick={() => void save()}>
          Change key
        </Button>
      </SpaceBetween>
    </Container>
  );
}

function SecretActions({ name, deleted, onChange }: { name: string; deleted: boolean; onChange(): void }) {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [open, setOpen] = useState(false);
  const [days, setDays] = useState("30");
  const [error, setError] = useState<string | undefined>(undefined);
  const n = Number(days);
  const daysError = !Number.isInteger(n) || n < 7 || n > 30 ? "7 to 30 days." : undefined;
  const remove = async () => {
    try {
      await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: n }));
      setOpen(false);
      notify.success(`Secret ${name} scheduled for deletion in ${n} days.`);
      onChange();
    } catch (e) {
      const { code, message } = describeError(e);
      setError(`${code}: ${message}`);
    }
  };
  const restore = async () => {
    try {
      await sm.send(new RestoreSecretCommand({ SecretId: name }));
      notify.success(`Secret ${name} restored.`);
      onChange();
    } catch (e) {
      notify.error(e);
    }
  };
  return (
    <SpaceBetween size="xs" direction="horizontal">
      <Button onClick={() => navigate("/secrets")}>All secrets</Button>
      {deleted ? <Button onClick={() => void restore()}>Cancel deletion</Button> : <Button onClick={() => setOpen(true)}>Delete</Button>}
      <Modal
        visible={open}
        onDismiss={() => setOpen(false)}
        header="Schedule secret deletion"
        footer={
          <Box float="right">
            <SpaceBetween size="xs" direction="horizontal">
              <Button variant="link" onClick={() => setOpen(false)}>
                Cancel
              </Button>
              <Button variant="primary" disabled={!!daysError} onClick={() => void remove()}>
                Schedule deletion
              </Button>
            </SpaceBetween>
          </Box>
        }
      >
        <SpaceBetween size="s">
          {error && <Alert type="error">{error}</Alert>}
          <FormField label="Waiting period (days)" errorText={daysError}>
            <Input value={days} inputMode="numeric" onChange={({ detail }) => setDays(detail.value)} ariaLabel="Waiting period" />
          </FormField>
        </SpaceBetween>
      </Modal>
    </SpaceBetween>
  );
}

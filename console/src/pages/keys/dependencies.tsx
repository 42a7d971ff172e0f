/**
 * What depends on a key (no AWS console has this view): what would become unreadable if the key
 * were disabled or deleted, and its use over the last days from the audit trail as calls per hour
 * by operation. Shown on the key page's Dependencies tab and before disabling or scheduling
 * deletion. Everything comes from the signed-in user's own API calls (console/src/data), so each
 * part the user may not list shows AWS's refusal instead.
 */
import { useEffect, useMemo, useState } from "react";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import Alert from "@cloudscape-design/components/alert";
import BarChart from "@cloudscape-design/components/bar-chart";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SegmentedControl from "@cloudscape-design/components/segmented-control";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Spinner from "@cloudscape-design/components/spinner";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { keyDependencies, type KeyDependencies as Dependencies, type Section } from "../../data/index";

const DAYS = ["1", "3", "7"] as const;

/** Loads what depends on a key (again on `reload`'s change, or another period). */
function useDependencies(keyArn: string, days: number, reload: number) {
  const kms = useClient(KMSClient);
  const s3 = useClient(S3Client, { forcePathStyle: true });
  const secretsManager = useClient(SecretsManagerClient);
  const cloudTrail = useClient(CloudTrailClient);
  const [deps, setDeps] = useState<Dependencies | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    if (!keyArn) return undefined;
    let live = true;
    setDeps(undefined);
    setError(undefined);
    keyDependencies({ kms, s3, secretsManager, cloudTrail }, keyArn, { usage: { days } })
      .then((d) => live && setDeps(d))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, s3, secretsManager, cloudTrail, keyArn, days, reload]);
  return { deps, error };
}

/** The counts alone, for the disable and schedule-deletion dialogs: what would become unreadable. */
export function KeyDependencySummary({ keyArn }: { keyArn: string }) {
  const { deps, error } = useDependencies(keyArn, 7, 0);
  if (error) return <ErrorAlert error={error} />;
  return (
    <SpaceBetween size="xs">
      <Box variant="h4">What depends on this key</Box>
      {deps ? <Summary deps={deps} /> : <Spinner />}
    </SpaceBetween>
  );
}

export function KeyDependencies({ keyArn }: { keyArn: string }) {
  const [days, setDays] = useState<(typeof DAYS)[number]>("7");
  const [reload, setReload] = useState(0);
  const { deps, error } = useDependencies(keyArn, Number(days), reload);

  if (error) return <ErrorAlert error={error} />;
  return (
    <SpaceBetween size="l">
      <Container
        data-testid="key-dependencies"
        header={
          <Header
            variant="h2"
            description="What would become unreadable if this key were disabled or deleted."
            actions={<Button iconName="refresh" ariaLabel="Refresh dependencies" onClick={() => setReload((n) => n + 1)} />}
          >
            What depends on this key
          </Header>
        }
      >
        {deps ? <Summary deps={deps} /> : <Spinner />}
      </Container>
      {deps && <Buckets deps={deps} />}
      {deps && <Secrets deps={deps} />}
      {deps && <GrantsAndAliases deps={deps} />}
      <Container
        header={
          <Header
            variant="h2"
            description="Calls naming this key in the audit trail (CloudTrail LookupEvents), per hour and operation."
            actions={
              <SegmentedControl
                label="Period"
                selectedId={days}
                onChange={({ detail }) => setDays(detail.selectedId as (typeof DAYS)[number])}
                options={DAYS.map((d) => ({ id: d, text: d === "1" ? "1 day" : `${d} days` }))}
              />
            }
          >
            Key use
          </Header>
        }
      >
        {deps ? <Usage usage={deps.usage} /> : <Spinner />}
      </Container>
    </SpaceBetween>
  );
}

function Summary({ deps }: { deps: Dependencies }) {
  return (
    <KeyValuePairs
      columns={3}
      items={[
        {
          label: "Buckets encrypting by default",
          value: <span data-testid="dep-buckets">{deps.buckets.ok ? String(deps.buckets.value.buckets.length) : "Not allowed"}</span>,
        },
        {
          label: "Objects encrypted under the key",
          value: (
            <span data-testid="dep-objects">
              {deps.objects.ok
                ? `${deps.objects.value.atLeast ? "at least " : ""}${deps.objects.value.count} (of ${deps.objects.value.examined} examined)`
                : "Not allowed"}
            </span>
          ),
        },
        {
          label: "Secret versions",
          value: (
            <span data-testid="dep-secret-versions">
              {deps.secrets.ok ? `${deps.secrets.value.versionCount} in ${deps.secrets.value.secrets.length} secrets` : "Not allowed"}
            </span>
          ),
        },
        {
          label: "Grants",
          value: <span data-testid="dep-grants">{deps.grants.ok ? String(deps.grants.value.grants.length) : "Not allowed"}</span>,
        },
        {
          label: "Aliases",
          value: <span data-testid="dep-aliases">{deps.aliases.ok ? String(deps.aliases.value.length) : "Not allowed"}</span>,
        },
        {
          label: "Calls in the period",
          value: (
            <span data-testid="dep-calls">
              {deps.usage.ok ? `${deps.usage.value.truncated ? "at least " : ""}${deps.usage.value.total}` : "Not allowed"}
            </span>
          ),
        },
      ]}
    />
  );
}

function Refused({ section, what }: { section: Section<unknown>; what: string }) {
  if (section.ok) return null;
  return (
    <Alert type="error" header={`${what}: ${section.error.code}`} data-testid="error-alert">
      {section.error.message}
    </Alert>
  );
}

function Buckets({ deps }: { deps: Dependencies }) {
  const { buckets, objects } = deps;
  return (
    <SpaceBetween size="s">
      <Refused section={buckets} what="Buckets could not be listed" />
      {buckets.ok && (
        <Table
          data-testid="dep-buckets-table"
          variant="container"
          header={
            <Header
              variant="h2"
              counter={`(${buckets.value.buckets.length})`}
              description="Buckets whose default encryption (SSE-KMS) uses this key."
            >
              Buckets
            </Header>
          }
          items={buckets.value.buckets}
          trackBy="bucket"
          empty="No bucket encrypts with this key by default."
          columnDefinitions={[
            { id: "bucket", header: "Bucket", cell: (b) => b.bucket },
            { id: "key", header: "Key as named by the bucket", cell: (b) => b.keyRef ?? "aws/s3 (AWS managed)" },
            { id: "algorithm", header: "Encryption", cell: (b) => b.algorithm },
            { id: "bucketKey", header: "Bucket key", cell: (b) => (b.bucketKeyEnabled ? "Enabled" : "Disabled") },
            {
              id: "objects",
              header: "Objects under the key",
              cell: (b) => (objects.ok ? String(objects.value.perBucket.find((p) => p.bucket === b.bucket)?.count ?? 0) : "-"),
            },
          ]}
        />
      )}
      <Refused section={objects} what="Objects could not be examined" />
      {objects.ok && objects.value.refused.length > 0 && (
        <Alert type="warning" header="Some buckets could not be listed">
          {objects.value.refused.map((r) => `${r.bucket}: ${r.error.code}: ${r.error.message}`).join("\n")}
        </Alert>
      )}
      {objects.ok && objects.value.atLeast && (
        <Alert type="info">
          The search stopped after {objects.value.examined} objects
          {objects.value.unreadable > 0 ? ` (${objects.value.unreadable} could not be read)` : ""}: at least {objects.value.count} objects
          are encrypted under this key.
        </Alert>
      )}
    </SpaceBetween>
  );
}

function Secrets({ deps }: { deps: Dependencies }) {
  const { secrets } = deps;
  if (!secrets.ok) return <Refused section={secrets} what="Secrets could not be listed" />;
  return (
    <Table
      data-testid="dep-secrets-table"
      variant="container"
      header={
        <Header
          variant="h2"
          counter={`(${secrets.value.secrets.length})`}
          description="Secrets with versions encrypted under this key, or whose new versions will be."
        >
          Secrets
        </Header>
      }
      items={secrets.value.secrets}
      trackBy="arn"
      empty="No secret uses this key."
      columnDefinitions={[
        { id: "name", header: "Secret", cell: (s) => s.name },
        { id: "versions", header: "Versions under the key", cell: (s) => String(s.versions.length) },
        {
          id: "labels",
          header: "Staging labels",
          cell: (s) => s.versions.map((v) => (v.stages.length ? v.stages.join(", ") : "(deprecated)")).join("; ") || "-",
        },
        {
          id: "configured",
          header: "New versions",
          cell: (s) => (s.configured ? "Under this key" : `Under ${s.kmsKeyId ?? "aws/secretsmanager"}`),
        },
        { id: "deleted", header: "Scheduled deletion", cell: (s) => (s.deletedDate ? s.deletedDate.toISOString() : "-") },
      ]}
    />
  );
}

function GrantsAndAliases({ deps }: { deps: Dependencies }) {
  const { grants, aliases } = deps;
  return (
    <SpaceBetween size="s">
      <Refused section={grants} what="Grants could not be listed" />
      {grants.ok && (
        <Table
          data-testid="dep-grants-table"
          variant="container"
          header={
            <Header variant="h2" counter={`(${grants.value.grants.length}${grants.value.truncated ? "+" : ""})`}>
              Grants
            </Header>
          }
          items={grants.value.grants}
          trackBy="GrantId"
          empty="No grants."
          columnDefinitions={[
            { id: "name", header: "Name", cell: (g) => g.Name || "-" },
            { id: "grantee", header: "Grantee principal", cell: (g) => g.GranteePrincipal ?? "-" },
            { id: "operations", header: "Operations", cell: (g) => (g.Operations ?? []).join(", ") },
            { id: "created", header: "Created", cell: (g) => g.CreationDate?.toISOString() ?? "-" },
          ]}
        />
      )}
      <Refused section={aliases} what="Aliases could not be listed" />
      {aliases.ok && (
        <Table
          data-testid="dep-aliases-table"
          variant="container"
          header={
            <Header variant="h2" counter={`(${aliases.value.length})`}>
              Aliases
            </Header>
          }
          items={aliases.value}
          trackBy="AliasName"
          empty="No aliases."
          columnDefinitions={[
            { id: "name", header: "Alias", cell: (a) => a.AliasName ?? "-" },
            { id: "arn", header: "Alias ARN", cell: (a) => a.AliasArn ?? "-" },
          ]}
        />
      )}
    </SpaceBetween>
  );
}

function hourLabel(d: Date): string {
  return `${d.toISOString().slice(5, 10)} ${d.toISOString().slice(11, 13)}h`;
}

function Usage({ usage }: { usage: Dependencies["usage"] }) {
  const series = useMemo(() => {
    if (!usage.ok) return [];
    const hours = usage.value.hours.map((h) => new Date(h));
    return usage.value.series.map((s) => ({
      title: s.operation,
      type: "bar" as const,
      data: s.perHour.map((y, i) => ({ x: hours[i]!, y })),
    }));
  }, [usage]);
  if (!usage.ok) return <Refused section={usage} what="The audit trail could not be read" />;
  const u = usage.value;
  return (
    <SpaceBetween size="s">
      {u.truncated && <Alert type="info">More calls than were read: the counts are lower bounds.</Alert>}
      <Box data-testid="dep-usage-summary">
        {u.total} calls
        {u.errors > 0 ? `, ${u.errors} refused` : ""}
        {u.series.length > 0 ? `: ${u.series.map((s) => `${s.operation} ${s.total}`).join(", ")}` : ""}
      </Box>
      <BarChart
        series={series}
        xDomain={u.hours.map((h) => new Date(h))}
        xScaleType="categorical"
        stackedBars
        height={220}
        xTitle="Hour (UTC)"
        yTitle="Calls"
        xTickFormatter={(d) => (d.getUTCHours() % 6 === 0 ? hourLabel(d) : "")}
        hideFilter
        ariaLabel="Calls per hour by operation"
        empty={<Box textAlign="center">No calls in this period.</Box>}
      />
    </SpaceBetween>
  );
}

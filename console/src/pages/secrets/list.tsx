/** Secrets Manager: the secrets of this account and region, with a filter. */
import { useMemo, useState } from "react";
import { paginateListSecrets, SecretsManagerClient, type SecretListEntry } from "@aws-sdk/client-secrets-manager";
import Button from "@cloudscape-design/components/button";
import Header from "@cloudscape-design/components/header";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import TextFilter from "@cloudscape-design/components/text-filter";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { followLink, href, navigate } from "../../router";
import { useLoad, when } from "../shared/use-load";

/** Secrets listed at most: a console page listing more would not be read. */
const MAX_SECRETS = 5_000;

export default function SecretsList() {
  const sm = useClient(SecretsManagerClient);
  const [filter, setFilter] = useState("");
  const secrets = useLoad(async () => {
    const all: SecretListEntry[] = [];
    for await (const page of paginateListSecrets({ client: sm }, { IncludePlannedDeletion: true, MaxResults: 100 })) {
      all.push(...(page.SecretList ?? []));
      if (all.length >= MAX_SECRETS) break;
    }
    return all;
  }, [sm]);
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (secrets.value ?? []).filter(
      (s) => !needle || (s.Name ?? "").toLowerCase().includes(needle) || (s.Description ?? "").toLowerCase().includes(needle),
    );
  }, [secrets.value, filter]);
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={secrets.error} />
      <Table<SecretListEntry>
        data-testid="secrets-table"
        variant="full-page"
        loading={secrets.loading && !secrets.value}
        loadingText="Loading secrets"
        items={shown}
        trackBy="ARN"
        empty={filter ? "No secrets match the filter." : "No secrets."}
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={secrets.value ? `(${shown.length})` : undefined}
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <Button iconName="refresh" ariaLabel="Refresh" onClick={secrets.reload} />
                <Button variant="primary" onClick={() => navigate("/secrets/create")}>
                  Store a new secret
                </Button>
              </SpaceBetween>
            }
          >
            Secrets
          </Header>
        }
        filter={
          <TextFilter
            filteringText={filter}
            filteringPlaceholder="Filter secrets by name or description"
            onChange={({ detail }) => setFilter(detail.filteringText)}
          />
        }
        columnDefinitions={[
          {
            id: "name",
            header: "Secret name",
            cell: (s) => (
              <Link href={href(`/secrets/${encodeURIComponent(s.Name ?? "")}`)} onFollow={followLink}>
                {s.Name}
              </Link>
            ),
          },
          { id: "description", header: "Description", cell: (s) => s.Description || "-" },
          { id: "key", header: "Encryption key", cell: (s) => s.KmsKeyId ?? "aws/secretsmanager" },
          { id: "rotation", header: "Rotation", cell: (s) => (s.RotationEnabled ? "Enabled" : "Disabled") },
          { id: "changed", header: "Last changed", cell: (s) => when(s.LastChangedDate) },
          { id: "deleted", header: "Scheduled deletion", cell: (s) => (s.DeletedDate ? when(s.DeletedDate) : "-") },
        ]}
      />
    </SpaceBetween>
  );
}

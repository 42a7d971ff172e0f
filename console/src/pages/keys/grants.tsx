/** The key's grants (ListGrants). */
import { useEffect, useState } from "react";
import { KMSClient, paginateListGrants, type GrantListEntry } from "@aws-sdk/client-kms";
import Header from "@cloudscape-design/components/header";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";

export function GrantsTab({ keyId }: { keyId: string }) {
  const kms = useClient(KMSClient);
  const [grants, setGrants] = useState<GrantListEntry[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    (async () => {
      const all: GrantListEntry[] = [];
      for await (const page of paginateListGrants({ client: kms }, { KeyId: keyId })) {
        all.push(...(page.Grants ?? []));
        if (all.length >= 10_000) break;
      }
      if (live) setGrants(all);
    })().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, keyId]);
  return (
    <SpaceBetween size="s">
      <ErrorAlert error={error} header="The grants could not be listed" />
      <Table<GrantListEntry>
        header={<Header counter={grants ? `(${grants.length})` : undefined}>Grants</Header>}
        loading={grants === undefined && !error}
        loadingText="Loading grants"
        items={grants ?? []}
        empty="No grants."
        columnDefinitions={[
          { id: "id", header: "Grant ID", cell: (g) => g.GrantId },
          { id: "name", header: "Name", cell: (g) => g.Name || "-" },
          { id: "grantee", header: "Grantee principal", cell: (g) => g.GranteePrincipal },
          { id: "ops", header: "Operations", cell: (g) => g.Operations?.join(", ") },
          { id: "created", header: "Creation date", cell: (g) => g.CreationDate?.toLocaleString() ?? "-" },
        ]}
      />
    </SpaceBetween>
  );
}

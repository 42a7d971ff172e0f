/** A table of the account's IAM users and roles to choose key administrators or key users from. */
import { useEffect, useMemo, useState } from "react";
import { IAMClient, paginateListRoles, paginateListUsers } from "@aws-sdk/client-iam";
import Header from "@cloudscape-design/components/header";
import Pagination from "@cloudscape-design/components/pagination";
import Table from "@cloudscape-design/components/table";
import TextFilter from "@cloudscape-design/components/text-filter";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";

export interface Principal {
  arn: string;
  name: string;
  path: string;
  type: "User" | "Role";
}

const PAGE_SIZE = 10;
const MAX_PRINCIPALS = 5_000;

export function usePrincipals(): { principals: Principal[] | undefined; error: unknown } {
  const iam = useClient(IAMClient);
  const [principals, setPrincipals] = useState<Principal[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    (async () => {
      const all: Principal[] = [];
      for await (const page of paginateListUsers({ client: iam }, {})) {
        for (const u of page.Users ?? [])
          if (u.Arn && u.UserName) all.push({ arn: u.Arn, name: u.UserName, path: u.Path ?? "/", type: "User" });
        if (all.length >= MAX_PRINCIPALS) break;
      }
      for await (const page of paginateListRoles({ client: iam }, {})) {
        for (const r of page.Roles ?? [])
          if (r.Arn && r.RoleName) all.push({ arn: r.Arn, name: r.RoleName, path: r.Path ?? "/", type: "Role" });
        if (all.length >= MAX_PRINCIPALS) break;
      }
      if (live) setPrincipals(all);
    })().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [iam]);
  return { principals, error };
}

export function PrincipalPicker({
  title,
  description,
  principals,
  error,
  selected,
  onChange,
  testId,
}: {
  title: string;
  description: string;
  principals: Principal[] | undefined;
  error: unknown;
  selected: string[];
  onChange(arns: string[]): void;
  testId: string;
}) {
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(1);
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (principals ?? []).filter((p) => !needle || p.name.toLowerCase().includes(needle) || p.arn.toLowerCase().includes(needle));
  }, [principals, filter]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const chosen = new Set(selected);
  return (
    <>
      <ErrorAlert error={error} header="The users and roles could not be listed" />
      <Table<Principal>
        data-testid={testId}
        selectionType="multi"
        trackBy="arn"
        items={shown.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE)}
        selectedItems={(principals ?? []).filter((p) => chosen.has(p.arn))}
        onSelectionChange={({ detail }) => {
          // Selections on other pages of the table stay chosen.
          const onPage = new Set(shown.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE).map((p) => p.arn));
          const kept = selected.filter((a) => !onPage.has(a));
          onChange([...kept, ...detail.selectedItems.map((p) => p.arn)]);
        }}
        ariaLabels={{
          selectionGroupLabel: title,
          itemSelectionLabel: (_, p) => `${p.type} ${p.name}`,
          allItemsSelectionLabel: () => "All on this page",
        }}
        loading={principals === undefined && !error}
        loadingText="Loading users and roles"
        empty="No IAM users or roles."
        header={
          <Header counter={`(${selected.length} chosen)`} description={description}>
            {title}
          </Header>
        }
        filter={
          <TextFilter
            filteringText={filter}
            filteringPlaceholder="Filter by name"
            onChange={({ detail }) => {
              setFilter(detail.filteringText);
              setPage(1);
            }}
          />
        }
        pagination={
          <Pagination currentPageIndex={current} pagesCount={pages} onChange={({ detail }) => setPage(detail.currentPageIndex)} />
        }
        columnDefinitions={[
          { id: "name", header: "Name", cell: (p) => p.name },
          { id: "path", header: "Path", cell: (p) => p.path },
          { id: "type", header: "Type", cell: (p) => p.type },
        ]}
      />
    </>
  );
}

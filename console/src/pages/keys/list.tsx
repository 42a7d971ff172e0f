/** Keys: customer managed and AWS managed, as two tabs, with a filter and pages of 10–100 keys. */
import { useEffect, useMemo, useState } from "react";
import {
  DescribeKeyCommand,
  KMSClient,
  paginateListAliases,
  paginateListKeys,
  type AliasListEntry,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import Button from "@cloudscape-design/components/button";
import Header from "@cloudscape-design/components/header";
import Link from "@cloudscape-design/components/link";
import Pagination from "@cloudscape-design/components/pagination";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Tabs from "@cloudscape-design/components/tabs";
import TextFilter from "@cloudscape-design/components/text-filter";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { followLink, href, navigate } from "../../router";
import { KeyStateIndicator } from "./state";

const PAGE_SIZE = 10;
/** Keys listed at most: ListKeys pages of 1000; a console showing more would describe too many. */
const MAX_KEYS = 10_000;

interface Row {
  keyId: string;
  aliases: string[];
  awsManaged: boolean;
  metadata?: KeyMetadata;
}

export default function KeysList({ path }: PageProps) {
  const kms = useClient(KMSClient);
  const tab = path.startsWith("/aws-managed-keys") ? "aws" : "customer";
  const [rows, setRows] = useState<Row[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(1);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setRows(undefined);
    setError(undefined);
    (async () => {
      const aliases = new Map<string, string[]>();
      for await (const out of paginateListAliases({ client: kms }, {})) {
        for (const a of out.Aliases ?? ([] as AliasListEntry[])) {
          if (!a.TargetKeyId || !a.AliasName) continue;
          aliases.set(a.TargetKeyId, [...(aliases.get(a.TargetKeyId) ?? []), a.AliasName]);
        }
      }
      const all: Row[] = [];
      for await (const out of paginateListKeys({ client: kms }, { Limit: 1000 })) {
        for (const k of out.Keys ?? []) {
          if (!k.KeyId) continue;
          const names = aliases.get(k.KeyId) ?? [];
          all.push({ keyId: k.KeyId, aliases: names, awsManaged: names.some((n) => n.startsWith("alias/aws/")) });
        }
        if (all.length >= MAX_KEYS) break;
      }
      if (live) {
        setRows(all);
        performance.mark("keyhold:keys-listed");
      }
    })().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, reload]);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (rows ?? [])
      .filter((r) => r.awsManaged === (tab === "aws"))
      .filter(
        (r) =>
          !needle ||
          r.keyId.toLowerCase().includes(needle) ||
          r.aliases.some((a) => a.toLowerCase().includes(needle)) ||
          (r.metadata?.Description ?? "").toLowerCase().includes(needle) ||
          (r.metadata?.KeyState ?? "").toLowerCase().includes(needle),
      );
  }, [rows, filter, tab]);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const visible = shown.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);

  // The keys on the page shown are described (state, spec, description), as the AWS console does.
  const undescribed = visible.filter((r) => !r.metadata).map((r) => r.keyId);
  useEffect(() => {
    if (undescribed.length === 0) return undefined;
    let live = true;
    Promise.all(undescribed.map((id) => kms.send(new DescribeKeyCommand({ KeyId: id })).then((o) => o.KeyMetadata)))
      .then((described) => {
        if (!live) return;
        const byId = new Map(described.filter((m): m is KeyMetadata => !!m?.KeyId).map((m) => [m.KeyId!, m]));
        setRows((all) => all?.map((r) => (byId.has(r.keyId) ? { ...r, metadata: byId.get(r.keyId) } : r)));
      })
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, undescribed.join(",")]);

  const table = (
    <Table<Row>
      data-testid="keys-table"
      loading={rows === undefined && !error}
      loadingText="Loading keys"
      items={visible}
      trackBy="keyId"
      variant="full-page"
      empty={filter ? "No keys match the filter." : tab === "aws" ? "No AWS managed keys yet." : "No customer managed keys."}
      header={
        <Header
          variant="awsui-h1-sticky"
          counter={rows ? `(${shown.length})` : undefined}
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              <Button iconName="refresh" ariaLabel="Refresh" onClick={() => setReload((n) => n + 1)} />
              {tab === "customer" && (
                <Button variant="primary" onClick={() => navigate("/keys/create")}>
                  Create key
                </Button>
              )}
            </SpaceBetween>
          }
        >
          {tab === "aws" ? "AWS managed keys" : "Customer managed keys"}
        </Header>
      }
      filter={
        <TextFilter
          filteringText={filter}
          filteringPlaceholder="Filter keys by alias, ID, description or status"
          countText={`${shown.length} matches`}
          onChange={({ detail }) => {
            setFilter(detail.filteringText);
            setPage(1);
          }}
        />
      }
      pagination={<Pagination currentPageIndex={current} pagesCount={pages} onChange={({ detail }) => setPage(detail.currentPageIndex)} />}
      columnDefinitions={[
        {
          id: "alias",
          header: "Aliases",
          cell: (r) =>
            r.aliases.length === 0 ? (
              "-"
            ) : (
              <Link href={href(`/keys/${encodeURIComponent(r.keyId)}`)} onFollow={followLink}>
                {r.aliases.map((a) => a.replace(/^alias\//, "")).join(", ")}
              </Link>
            ),
        },
        {
          id: "keyId",
          header: "Key ID",
          cell: (r) => (
            <Link href={href(`/keys/${encodeURIComponent(r.keyId)}`)} onFollow={followLink}>
              {r.keyId}
            </Link>
          ),
        },
        { id: "state", header: "Status", cell: (r) => (r.metadata?.KeyState ? <KeyStateIndicator state={r.metadata.KeyState} /> : "-") },
        { id: "spec", header: "Key spec", cell: (r) => r.metadata?.KeySpec ?? "-" },
        { id: "usage", header: "Key usage", cell: (r) => r.metadata?.KeyUsage ?? "-" },
        { id: "description", header: "Description", cell: (r) => r.metadata?.Description || "-" },
      ]}
    />
  );

  return (
    <SpaceBetween size="m">
      <ErrorAlert error={error} />
      <Tabs
        activeTabId={tab}
        onChange={({ detail }) => navigate(detail.activeTabId === "aws" ? "/aws-managed-keys" : "/keys")}
        tabs={[
          { id: "customer", label: "Customer managed keys", content: tab === "customer" ? table : null },
          { id: "aws", label: "AWS managed keys", content: tab === "aws" ? table : null },
        ]}
      />
    </SpaceBetween>
  );
}

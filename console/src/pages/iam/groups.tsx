/**
 * IAM groups: every group of the account (ListGroups, as the AWS console's "User groups" page),
 * with its number of members (GetGroup, for the groups on the page shown); create a group.
 */
import { useState } from "react";
import { CreateGroupCommand, GetGroupCommand, IAMClient, paginateListGroups, type Group } from "@aws-sdk/client-iam";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Link from "@cloudscape-design/components/link";
import Pagination from "@cloudscape-design/components/pagination";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { followLink, href, navigate } from "../../router";
import { mapLimited } from "../../data/clients";
import { useLoad, when } from "../shared/use-load";

/** IAM's group names: 1–128 of letters, digits and +=,.@_- (the service model). */
export const GROUP_NAME = /^[\w+=,.@-]{1,128}$/;
/** At most this many groups are listed (IAM's quota is 300 per account). */
const MAX = 5_000;
const PAGE_SIZE = 25;

export default function Groups() {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const groups = useLoad(async () => {
    const all: Group[] = [];
    for await (const page of paginateListGroups({ client: iam }, {})) {
      all.push(...(page.Groups ?? []));
      if (all.length >= MAX) break;
    }
    return all;
  }, [iam]);
  const [pageIndex, setPageIndex] = useState(1);
  const shown = (groups.value ?? []).slice((pageIndex - 1) * PAGE_SIZE, pageIndex * PAGE_SIZE);
  const shownKey = shown.map((g) => g.GroupName).join("\n");
  // Members of the groups on the page only: one GetGroup each, a few at a time.
  const members = useLoad(async () => {
    const counts = new Map<string, string>();
    await mapLimited(shown, 6, async (g) => {
      try {
        let n = 0;
        let Marker: string | undefined;
        do {
          const out = await iam.send(new GetGroupCommand({ GroupName: g.GroupName, Marker }));
          n += out.Users?.length ?? 0;
          Marker = out.IsTruncated ? out.Marker : undefined;
        } while (Marker !== undefined);
        counts.set(g.GroupName!, String(n));
      } catch (e) {
        counts.set(g.GroupName!, describeError(e).code);
      }
    });
    return counts;
  }, [iam, shownKey]);
  const [name, setName] = useState("");
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !GROUP_NAME.test(name) ? "1–128 letters, digits and +=,.@_-" : undefined;
  const create = async () => {
    setRefusal(undefined);
    try {
      await iam.send(new CreateGroupCommand({ GroupName: name }));
      notify.success(`Group ${name} created.`);
      navigate(`/iam/groups/${encodeURIComponent(name)}`);
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    }
  };
  const pagesCount = Math.max(1, Math.ceil((groups.value?.length ?? 0) / PAGE_SIZE));
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={groups.error} />
      <Table<Group>
        data-testid="groups-table"
        variant="full-page"
        loading={groups.loading && !groups.value}
        items={shown}
        trackBy="GroupName"
        empty="No groups."
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={groups.value ? `(${groups.value.length})` : undefined}
            actions={<Button iconName="refresh" ariaLabel="Refresh" onClick={groups.reload} />}
          >
            User groups
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
              <FormField label="Group name" errorText={nameError ?? refusal}>
                <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="Group name" />
              </FormField>
              <Button variant="primary" disabled={!name || !!nameError}>
                Create group
              </Button>
            </SpaceBetween>
          </form>
        }
        pagination={
          <Pagination
            currentPageIndex={Math.min(pageIndex, pagesCount)}
            pagesCount={pagesCount}
            onChange={({ detail }) => setPageIndex(detail.currentPageIndex)}
          />
        }
        columnDefinitions={[
          {
            id: "name",
            header: "Group name",
            cell: (g) => (
              <Link href={href(`/iam/groups/${encodeURIComponent(g.GroupName ?? "")}`)} onFollow={followLink}>
                {g.GroupName}
              </Link>
            ),
          },
          { id: "users", header: "Users", cell: (g) => members.value?.get(g.GroupName!) ?? "…" },
          { id: "path", header: "Path", cell: (g) => g.Path ?? "/" },
          { id: "created", header: "Created", cell: (g) => when(g.CreateDate) },
        ]}
      />
    </SpaceBetween>
  );
}

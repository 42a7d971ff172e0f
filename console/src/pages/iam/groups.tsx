/**
 * IAM groups: create one, open one by name. keyhold does not serve ListGroups yet, so the groups
 * listed are those its users belong to (ListUsers, ListGroupsForUser), at most for 200 users.
 */
import { useState } from "react";
import { CreateGroupCommand, IAMClient, ListGroupsForUserCommand, ListUsersCommand } from "@aws-sdk/client-iam";
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
import { followLink, href, navigate } from "../../router";
import { mapLimited } from "../../data/index";
import { useLoad } from "../shared/use-load";
import { IAM_NAME } from "./users";

interface Row {
  name: string;
  members: string[];
}

export default function Groups() {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const groups = useLoad(async () => {
    const users = (await iam.send(new ListUsersCommand({ MaxItems: 200 }))).Users ?? [];
    const byGroup = new Map<string, string[]>();
    await mapLimited(users, 6, async (u) => {
      for (const g of (await iam.send(new ListGroupsForUserCommand({ UserName: u.UserName }))).Groups ?? [])
        byGroup.set(g.GroupName!, [...(byGroup.get(g.GroupName!) ?? []), u.UserName!]);
    });
    return [...byGroup].map(([name, members]): Row => ({ name, members: members.sort() })).sort((a, b) => a.name.localeCompare(b.name));
  }, [iam]);
  const [name, setName] = useState("");
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !IAM_NAME.test(name) ? "1–64 letters, digits and +=,.@_-" : undefined;
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
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={groups.error} />
      <Table<Row>
        data-testid="groups-table"
        variant="full-page"
        loading={groups.loading && !groups.value}
        items={groups.value ?? []}
        trackBy="name"
        empty="No user is in a group."
        header={
          <Header variant="awsui-h1-sticky" description="Groups with members. Create a group, or open one by name.">
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
              <Button formAction="none" disabled={!name || !!nameError} onClick={() => navigate(`/iam/groups/${encodeURIComponent(name)}`)}>
                Open group
              </Button>
            </SpaceBetween>
          </form>
        }
        columnDefinitions={[
          {
            id: "name",
            header: "Group",
            cell: (g) => (
              <Link href={href(`/iam/groups/${encodeURIComponent(g.name)}`)} onFollow={followLink}>
                {g.name}
              </Link>
            ),
          },
          { id: "members", header: "Members", cell: (g) => g.members.join(", ") },
        ]}
      />
    </SpaceBetween>
  );
}

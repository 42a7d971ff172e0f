/** IAM users: list and create; each user's page has groups, access keys and policies. */
import { useState } from "react";
import { CreateUserCommand, IAMClient, paginateListUsers, type User } from "@aws-sdk/client-iam";
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
import { useLoad, when } from "../shared/use-load";

/** IAM's user and group names: 1–64 of letters, digits and +=,.@_- (the service model). */
export const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const MAX = 5_000;

export default function Users() {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const users = useLoad(async () => {
    const all: User[] = [];
    for await (const page of paginateListUsers({ client: iam }, {})) {
      all.push(...(page.Users ?? []));
      if (all.length >= MAX) break;
    }
    return all;
  }, [iam]);
  const [name, setName] = useState("");
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !IAM_NAME.test(name) ? "1–64 letters, digits and +=,.@_-" : undefined;
  const create = async () => {
    setRefusal(undefined);
    try {
      await iam.send(new CreateUserCommand({ UserName: name }));
      notify.success(`User ${name} created.`);
      setName("");
      users.reload();
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    }
  };
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={users.error} />
      <Table<User>
        data-testid="users-table"
        variant="full-page"
        loading={users.loading && !users.value}
        items={users.value ?? []}
        trackBy="UserName"
        empty="No users."
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={users.value ? `(${users.value.length})` : undefined}
            actions={<Button iconName="refresh" ariaLabel="Refresh" onClick={users.reload} />}
          >
            Users
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
              <FormField label="New user" errorText={nameError ?? refusal}>
                <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="User name" />
              </FormField>
              <Button variant="primary" disabled={!name || !!nameError}>
                Create user
              </Button>
            </SpaceBetween>
          </form>
        }
        columnDefinitions={[
          {
            id: "name",
            header: "User name",
            cell: (u) => (
              <Link href={href(`/iam/users/${encodeURIComponent(u.UserName ?? "")}`)} onFollow={followLink}>
                {u.UserName}
              </Link>
            ),
          },
          { id: "arn", header: "ARN", cell: (u) => u.Arn ?? "-" },
          { id: "created", header: "Created", cell: (u) => when(u.CreateDate) },
        ]}
      />
    </SpaceBetween>
  );
}

/** One IAM user: console password and access keys (the secret shown once, when created), groups, policies. */
import { useState } from "react";
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  paginateListGroups,
  RemoveUserFromGroupCommand,
  UpdateAccessKeyCommand,
  type AccessKeyMetadata,
  type Group,
} from "@aws-sdk/client-iam";
import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import Select from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Tabs from "@cloudscape-design/components/tabs";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { useLoad, when } from "../shared/use-load";
import { LoginProfilePanel } from "./login-profile";
import { PoliciesPanel } from "./policies-panel";

export default function UserPage({ params }: PageProps) {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const name = params.name ?? "";
  const user = useLoad(() => iam.send(new GetUserCommand({ UserName: name })), [iam, name]);
  const remove = async () => {
    try {
      await iam.send(new DeleteUserCommand({ UserName: name }));
      notify.success(`User ${name} deleted.`);
      navigate("/iam/users");
    } catch (e) {
      notify.error(e);
    }
  };
  if (user.error) return <ErrorAlert error={user.error} />;
  const u = user.value?.User;
  return (
    <ContentLayout
      header={
        <Header variant="h1" actions={<Button onClick={() => void remove()}>Delete user</Button>}>
          {name}
        </Header>
      }
    >
      <SpaceBetween size="l">
        <Container header={<Header variant="h2">Summary</Header>}>
          <KeyValuePairs
            columns={3}
            items={[
              { label: "ARN", value: u?.Arn ?? "-" },
              { label: "User ID", value: u?.UserId ?? "-" },
              { label: "Created", value: when(u?.CreateDate) },
            ]}
          />
        </Container>
        <Tabs
          tabs={[
            {
              id: "credentials",
              label: "Security credentials",
              content: (
                <SpaceBetween size="l">
                  <LoginProfilePanel name={name} />
                  <AccessKeys name={name} />
                </SpaceBetween>
              ),
            },
            { id: "groups", label: "Groups", content: <Groups name={name} /> },
            { id: "policies", label: "Permissions", content: <PoliciesPanel kind="User" name={name} /> },
          ]}
        />
      </SpaceBetween>
    </ContentLayout>
  );
}

function AccessKeys({ name }: { name: string }) {
  const iam = useClient(IAMClient);
  const keys = useLoad(async () => (await iam.send(new ListAccessKeysCommand({ UserName: name }))).AccessKeyMetadata ?? [], [iam, name]);
  const [created, setCreated] = useState<{ id: string; secret: string } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
      keys.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={keys.error ?? error} />
      {created && (
        <Alert type="success" header="Access key created" dismissible onDismiss={() => setCreated(undefined)} data-testid="new-access-key">
          <SpaceBetween size="xs">
            <Box>This is the only time the secret access key is shown. Save it now; dismissing this message forgets it.</Box>
            <Box variant="code">Access key ID: {created.id}</Box>
            <Box variant="code">Secret access key: {created.secret}</Box>
          </SpaceBetween>
        </Alert>
      )}
      <Table<AccessKeyMetadata>
        data-testid="access-keys"
        variant="container"
        items={keys.value ?? []}
        loading={keys.loading && !keys.value}
        trackBy="AccessKeyId"
        empty="No access keys."
        header={
          <Header
            variant="h2"
            actions={
              <Button
                onClick={() =>
                  void run(async () => {
                    const out = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
                    setCreated({ id: out.AccessKey!.AccessKeyId!, secret: out.AccessKey!.SecretAccessKey! });
                  })
                }
              >
                Create access key
              </Button>
            }
          >
            Access keys
          </Header>
        }
        columnDefinitions={[
          { id: "id", header: "Access key ID", cell: (k) => k.AccessKeyId },
          { id: "status", header: "Status", cell: (k) => k.Status },
          { id: "created", header: "Created", cell: (k) => when(k.CreateDate) },
          {
            id: "actions",
            header: "Actions",
            cell: (k) => (
              <SpaceBetween size="xs" direction="horizontal">
                <Button
                  variant="inline-link"
                  onClick={() =>
                    void run(() =>
                      iam.send(
                        new UpdateAccessKeyCommand({
                          UserName: name,
                          AccessKeyId: k.AccessKeyId,
                          Status: k.Status === "Active" ? "Inactive" : "Active",
                        }),
                      ),
                    )
                  }
                >
                  {k.Status === "Active" ? "Deactivate" : "Activate"}
                </Button>
                <Button
                  variant="inline-link"
                  onClick={() => void run(() => iam.send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: k.AccessKeyId })))}
                >
                  Delete
                </Button>
              </SpaceBetween>
            ),
          },
        ]}
      />
    </SpaceBetween>
  );
}

/** At most this many groups are offered to add the user to (IAM's quota is 300 per account). */
const MAX_GROUPS = 1_000;

function Groups({ name }: { name: string }) {
  const iam = useClient(IAMClient);
  const groups = useLoad(async () => (await iam.send(new ListGroupsForUserCommand({ UserName: name }))).Groups ?? [], [iam, name]);
  // The account's groups, to choose from (ListGroups).
  const all = useLoad(async () => {
    const names: string[] = [];
    for await (const page of paginateListGroups({ client: iam }, {})) {
      names.push(...(page.Groups ?? []).map((g) => g.GroupName!));
      if (names.length >= MAX_GROUPS) break;
    }
    return names;
  }, [iam]);
  const [group, setGroup] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const run = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
      setGroup("");
      groups.reload();
    } catch (e) {
      setError(e);
    }
  };
  const member = new Set((groups.value ?? []).map((g) => g.GroupName));
  const options = (all.value ?? []).filter((g) => !member.has(g)).map((g) => ({ value: g, label: g }));
  return (
    <SpaceBetween size="m">
      <ErrorAlert error={groups.error ?? all.error ?? error} />
      <Table<Group>
        data-testid="user-groups"
        variant="container"
        items={groups.value ?? []}
        loading={groups.loading && !groups.value}
        trackBy="GroupName"
        empty="In no group."
        header={
          <Header
            variant="h2"
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <div style={{ minWidth: 240 }}>
                  <Select
                    selectedOption={group ? { value: group, label: group } : null}
                    onChange={({ detail }) => setGroup(detail.selectedOption.value ?? "")}
                    options={options}
                    filteringType="auto"
                    placeholder="Choose a group"
                    empty={all.loading ? "Loading groups…" : "No other group."}
                    ariaLabel="Group to add to"
                    data-testid="group-select"
                  />
                </div>
                <Button
                  disabled={!group}
                  onClick={() => void run(() => iam.send(new AddUserToGroupCommand({ UserName: name, GroupName: group })))}
                >
                  Add to group
                </Button>
              </SpaceBetween>
            }
          >
            Groups
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Group", cell: (g) => g.GroupName },
          {
            id: "remove",
            header: "",
            cell: (g) => (
              <Button
                variant="inline-link"
                onClick={() => void run(() => iam.send(new RemoveUserFromGroupCommand({ UserName: name, GroupName: g.GroupName })))}
              >
                Remove
              </Button>
            ),
          },
        ]}
      />
    </SpaceBetween>
  );
}

/** One IAM group: its members and its policies. */
import { useState } from "react";
import {
  AddUserToGroupCommand,
  DeleteGroupCommand,
  GetGroupCommand,
  IAMClient,
  RemoveUserFromGroupCommand,
  type User,
} from "@aws-sdk/client-iam";
import Button from "@cloudscape-design/components/button";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { useLoad } from "../shared/use-load";
import { PoliciesPanel } from "./policies-panel";

export default function GroupPage({ params }: PageProps) {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const name = params.name ?? "";
  const group = useLoad(() => iam.send(new GetGroupCommand({ GroupName: name })), [iam, name]);
  const [user, setUser] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const run = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
      group.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async () => {
    try {
      await iam.send(new DeleteGroupCommand({ GroupName: name }));
      notify.success(`Group ${name} deleted.`);
      navigate("/iam/groups");
    } catch (e) {
      notify.error(e);
    }
  };
  if (group.error) return <ErrorAlert error={group.error} />;
  return (
    <ContentLayout
      header={
        <Header variant="h1" actions={<Button onClick={() => void remove()}>Delete group</Button>}>
          {name}
        </Header>
      }
    >
      <SpaceBetween size="l">
        <ErrorAlert error={error} />
        <Table<User>
          data-testid="group-members"
          variant="container"
          items={group.value?.Users ?? []}
          loading={group.loading && !group.value}
          trackBy="UserName"
          empty="No members."
          header={
            <Header
              variant="h2"
              actions={
                <SpaceBetween size="xs" direction="horizontal">
                  <Input value={user} onChange={({ detail }) => setUser(detail.value)} placeholder="User name" ariaLabel="User name" />
                  <Button
                    disabled={!user}
                    onClick={() => void run(() => iam.send(new AddUserToGroupCommand({ GroupName: name, UserName: user })))}
                  >
                    Add user
                  </Button>
                </SpaceBetween>
              }
            >
              Members
            </Header>
          }
          columnDefinitions={[
            { id: "name", header: "User", cell: (u) => u.UserName },
            {
              id: "remove",
              header: "",
              cell: (u) => (
                <Button
                  variant="inline-link"
                  onClick={() => void run(() => iam.send(new RemoveUserFromGroupCommand({ GroupName: name, UserName: u.UserName })))}
                >
                  Remove
                </Button>
              ),
            },
          ]}
        />
        <PoliciesPanel kind="Group" name={name} />
      </SpaceBetween>
    </ContentLayout>
  );
}

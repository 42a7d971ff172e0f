/** IAM roles: list and create (with a trust policy). */
import { useState } from "react";
import { CreateRoleCommand, IAMClient, paginateListRoles, type Role } from "@aws-sdk/client-iam";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Textarea from "@cloudscape-design/components/textarea";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { followLink, href } from "../../router";
import { useSession } from "../../session";
import { useLoad, when } from "../shared/use-load";
import { policyDocumentProblem } from "./policies-panel";

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

export default function Roles() {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const { session } = useSession();
  const roles = useLoad(async () => {
    const all: Role[] = [];
    for await (const page of paginateListRoles({ client: iam }, {})) all.push(...(page.Roles ?? []));
    return all;
  }, [iam]);
  const [name, setName] = useState("");
  const [trust, setTrust] = useState(
    JSON.stringify(
      {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${session.account}:root` }, Action: "sts:AssumeRole" }],
      },
      null,
      2,
    ),
  );
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !ROLE_NAME.test(name) ? "1–64 letters, digits and +=,.@_-" : undefined;
  const trustError = policyDocumentProblem(trust);
  const create = async () => {
    setRefusal(undefined);
    try {
      await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
      notify.success(`Role ${name} created.`);
      setName("");
      roles.reload();
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    }
  };
  return (
    <SpaceBetween size="l">
      <ErrorAlert error={roles.error} />
      <Table<Role>
        data-testid="roles-table"
        variant="full-page"
        loading={roles.loading && !roles.value}
        items={roles.value ?? []}
        trackBy="RoleName"
        empty="No roles."
        header={
          <Header variant="awsui-h1-sticky" counter={roles.value ? `(${roles.value.length})` : undefined}>
            Roles
          </Header>
        }
        columnDefinitions={[
          {
            id: "name",
            header: "Role name",
            cell: (r) => (
              <Link href={href(`/iam/roles/${encodeURIComponent(r.RoleName ?? "")}`)} onFollow={followLink}>
                {r.RoleName}
              </Link>
            ),
          },
          { id: "arn", header: "ARN", cell: (r) => r.Arn ?? "-" },
          { id: "created", header: "Created", cell: (r) => when(r.CreateDate) },
        ]}
      />
      <Container header={<Header variant="h2">Create role</Header>}>
        <SpaceBetween size="s">
          <FormField label="Role name" errorText={nameError ?? refusal}>
            <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="Role name" />
          </FormField>
          <FormField label="Trust policy (who may assume the role)" errorText={trustError}>
            <Textarea
              value={trust}
              onChange={({ detail }) => setTrust(detail.value)}
              rows={10}
              spellcheck={false}
              ariaLabel="Trust policy"
            />
          </FormField>
          <Button variant="primary" disabled={!name || !!nameError || !!trustError} onClick={() => void create()}>
            Create role
          </Button>
        </SpaceBetween>
      </Container>
    </SpaceBetween>
  );
}

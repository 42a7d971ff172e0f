/** IAM customer managed policies: list, view the default version, create, delete. */
import { useState } from "react";
import {
  CreatePolicyCommand,
  DeletePolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  paginateListPolicies,
  type Policy,
} from "@aws-sdk/client-iam";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Textarea from "@cloudscape-design/components/textarea";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { useLoad, when } from "../shared/use-load";
import { policyDocumentProblem, policyText } from "./policies-panel";

const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

export default function Policies() {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const policies = useLoad(async () => {
    const all: Policy[] = [];
    for await (const page of paginateListPolicies({ client: iam }, { Scope: "Local" })) all.push(...(page.Policies ?? []));
    return all;
  }, [iam]);
  const [viewing, setViewing] = useState<{ name: string; text: string } | undefined>(undefined);
  const [name, setName] = useState("");
  const [document, setDocument] = useState(
    JSON.stringify(
      { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*" }] },
      null,
      2,
    ),
  );
  const [error, setError] = useState<unknown>(undefined);
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !POLICY_NAME.test(name) ? "1–128 letters, digits and +=,.@_-" : undefined;
  const problem = policyDocumentProblem(document);
  const view = async (p: Policy) => {
    setError(undefined);
    try {
      const out = await iam.send(new GetPolicyVersionCommand({ PolicyArn: p.Arn, VersionId: p.DefaultVersionId }));
      setViewing({ name: p.PolicyName ?? "", text: policyText(out.PolicyVersion?.Document) });
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (p: Policy) => {
    setError(undefined);
    try {
      await iam.send(new DeletePolicyCommand({ PolicyArn: p.Arn }));
      notify.success(`Policy ${p.PolicyName} deleted.`);
      policies.reload();
    } catch (e) {
      setError(e);
    }
  };
  const create = async () => {
    setRefusal(undefined);
    try {
      await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }));
      notify.success(`Policy ${name} created.`);
      setName("");
      policies.reload();
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    }
  };
  return (
    <SpaceBetween size="l">
      <ErrorAlert error={policies.error ?? error} />
      <Table<Policy>
        data-testid="policies-table"
        variant="full-page"
        loading={policies.loading && !policies.value}
        items={policies.value ?? []}
        trackBy="Arn"
        empty="No customer managed policies."
        header={
          <Header variant="awsui-h1-sticky" counter={policies.value ? `(${policies.value.length})` : undefined}>
            Policies
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Policy name", cell: (p) => p.PolicyName },
          { id: "arn", header: "ARN", cell: (p) => p.Arn },
          { id: "attachments", header: "Attachments", cell: (p) => String(p.AttachmentCount ?? 0) },
          { id: "created", header: "Created", cell: (p) => when(p.CreateDate) },
          {
            id: "actions",
            header: "Actions",
            cell: (p) => (
              <SpaceBetween size="xs" direction="horizontal">
                <Button variant="inline-link" onClick={() => void view(p)}>
                  View
                </Button>
                <Button variant="inline-link" onClick={() => void remove(p)}>
                  Delete
                </Button>
              </SpaceBetween>
            ),
          },
        ]}
      />
      {viewing && (
        <Container
          header={
            <Header variant="h2" actions={<Button onClick={() => setViewing(undefined)}>Close</Button>}>
              {viewing.name}
            </Header>
          }
        >
          <Box variant="code">
            <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>{viewing.text}</pre>
          </Box>
        </Container>
      )}
      <Container header={<Header variant="h2">Create policy</Header>}>
        <SpaceBetween size="s">
          <FormField label="Policy name" errorText={nameError ?? refusal}>
            <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="Policy name" />
          </FormField>
          <FormField label="Policy document (JSON)" errorText={problem}>
            <Textarea
              value={document}
              onChange={({ detail }) => setDocument(detail.value)}
              rows={10}
              spellcheck={false}
              ariaLabel="Policy document"
            />
          </FormField>
          <Button variant="primary" disabled={!name || !!nameError || !!problem} onClick={() => void create()}>
            Create policy
          </Button>
        </SpaceBetween>
      </Container>
    </SpaceBetween>
  );
}

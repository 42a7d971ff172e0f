/** The key policy tab: the default view (administrators, users, other accounts) and the JSON view, editable. */
import { useState } from "react";
import { KMSClient, PutKeyPolicyCommand } from "@aws-sdk/client-kms";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { useSession } from "../../session";
import { CodeEditor } from "./code-editor";
import { jsonSyntaxError } from "./json-syntax";
import { NOT_JSON, policyProblem, summarizePolicy } from "./policy";

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 4);
  } catch {
    return text;
  }
}

function ArnTable({ title, arns, testId }: { title: string; arns: string[]; testId: string }) {
  return (
    <Table<{ arn: string }>
      data-testid={testId}
      header={<Header counter={`(${arns.length})`}>{title}</Header>}
      items={arns.map((arn) => ({ arn }))}
      empty="None."
      columnDefinitions={[
        { id: "name", header: "Name", cell: (p) => p.arn.split(/[:/]/).pop() },
        { id: "arn", header: "ARN", cell: (p) => p.arn },
      ]}
    />
  );
}

export function KeyPolicyTab({ keyId, policy, editable, onSaved }: { keyId: string; policy: string; editable: boolean; onSaved(): void }) {
  const kms = useClient(KMSClient);
  const { session } = useSession();
  const notify = useNotify();
  const summary = summarizePolicy(policy, session.account);
  const [view, setView] = useState<"default" | "json">(summary ? "default" : "json");
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  async function save() {
    if (draft === undefined || policyProblem(draft)) return;
    setBusy(true);
    setError(undefined);
    try {
      await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: "default", Policy: draft }));
      notify.success("The key policy is saved.");
      setDraft(undefined);
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const switcher = summary && draft === undefined && (
    <Button onClick={() => setView(view === "default" ? "json" : "default")}>
      {view === "default" ? "Switch to policy view" : "Switch to default view"}
    </Button>
  );

  if (view === "default" && summary) {
    return (
      <SpaceBetween size="l">
        <Container
          header={
            <Header variant="h2" actions={switcher}>
              Key policy
            </Header>
          }
        >
          <Box>Key administrators {summary.adminsMayDelete ? "may" : "may not"} delete this key.</Box>
        </Container>
        <ArnTable title="Key administrators" arns={summary.administrators} testId="policy-administrators" />
        <ArnTable title="Key users" arns={summary.users} testId="policy-users" />
        <ArnTable title="Other AWS accounts" arns={summary.otherAccounts} testId="policy-accounts" />
      </SpaceBetween>
    );
  }
  const problem = draft === undefined ? undefined : policyProblem(draft);
  return (
    <Container
      header={
        <Header
          variant="h2"
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              {switcher}
              {editable && draft === undefined && <Button onClick={() => setDraft(pretty(policy))}>Edit</Button>}
              {draft !== undefined && (
                <>
                  <Button variant="link" onClick={() => setDraft(undefined)}>
                    Cancel
                  </Button>
                  <Button variant="primary" loading={busy} disabled={!!problem} onClick={() => void save()}>
                    Save changes
                  </Button>
                </>
              )}
            </SpaceBetween>
          }
        >
          Key policy
        </Header>
      }
    >
      <SpaceBetween size="s">
        <ErrorAlert error={error} />
        {draft === undefined ? (
          <Box variant="code" data-testid="policy-json">
            <pre>{pretty(policy)}</pre>
          </Box>
        ) : (
          <FormField
            stretch
            controlId="key-policy-editor"
            errorText={problem}
            label="Policy document (JSON)"
            description="KMS checks the policy when you save it: a statement it refuses is shown with its message."
          >
            <CodeEditor
              controlId="key-policy-editor"
              value={draft}
              onChange={setDraft}
              ariaLabel="Key policy"
              errorLine={problem?.startsWith(NOT_JSON) ? jsonSyntaxError(draft)?.line : undefined}
            />
          </FormField>
        )}
      </SpaceBetween>
    </Container>
  );
}

/**
 * The policies of a user, group or role: inline policies (view, add or replace, delete) and
 * attached managed policies (attach one chosen from the account's customer managed policies, or
 * by ARN; detach). Policy text is validated as JSON before it is sent;
 * IAM then checks the rest (MalformedPolicyDocument) and its message is shown.
 */
import { useState } from "react";
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DeleteGroupPolicyCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  paginateListPolicies,
  type AttachedPolicy,
} from "@aws-sdk/client-iam";
import Autosuggest from "@cloudscape-design/components/autosuggest";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Textarea from "@cloudscape-design/components/textarea";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { useLoad } from "../shared/use-load";

export type Holder = "User" | "Group" | "Role";

/** IAM's calls for each kind of holder: the same operations, named per kind. */
function calls(kind: Holder, name: string) {
  switch (kind) {
    case "User":
      return {
        list: () => new ListUserPoliciesCommand({ UserName: name }),
        get: (p: string) => new GetUserPolicyCommand({ UserName: name, PolicyName: p }),
        put: (p: string, d: string) => new PutUserPolicyCommand({ UserName: name, PolicyName: p, PolicyDocument: d }),
        remove: (p: string) => new DeleteUserPolicyCommand({ UserName: name, PolicyName: p }),
        attached: () => new ListAttachedUserPoliciesCommand({ UserName: name }),
        attach: (arn: string) => new AttachUserPolicyCommand({ UserName: name, PolicyArn: arn }),
        detach: (arn: string) => new DetachUserPolicyCommand({ UserName: name, PolicyArn: arn }),
      };
    case "Group":
      return {
        list: () => new ListGroupPoliciesCommand({ GroupName: name }),
        get: (p: string) => new GetGroupPolicyCommand({ GroupName: name, PolicyName: p }),
        put: (p: string, d: string) => new PutGroupPolicyCommand({ GroupName: name, PolicyName: p, PolicyDocument: d }),
        remove: (p: string) => new DeleteGroupPolicyCommand({ GroupName: name, PolicyName: p }),
        attached: () => new ListAttachedGroupPoliciesCommand({ GroupName: name }),
        attach: (arn: string) => new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: arn }),
        detach: (arn: string) => new DetachGroupPolicyCommand({ GroupName: name, PolicyArn: arn }),
      };
    case "Role":
      return {
        list: () => new ListRolePoliciesCommand({ RoleName: name }),
        get: (p: string) => new GetRolePolicyCommand({ RoleName: name, PolicyName: p }),
        put: (p: string, d: string) => new PutRolePolicyCommand({ RoleName: name, PolicyName: p, PolicyDocument: d }),
        remove: (p: string) => new DeleteRolePolicyCommand({ RoleName: name, PolicyName: p }),
        attached: () => new ListAttachedRolePoliciesCommand({ RoleName: name }),
        attach: (arn: string) => new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }),
        detach: (arn: string) => new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }),
      };
  }
}

/** IAM returns policy documents URL-encoded; shown decoded and indented. */
export function policyText(document: string | undefined): string {
  if (!document) return "";
  let text = document;
  try {
    text = decodeURIComponent(document);
  } catch {
    // Not encoded after all.
  }
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A policy document's shape, checked before it is sent. */
export function policyDocumentProblem(text: string): string | undefined {
  if (text.trim() === "") return "The policy is empty.";
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `Not JSON: ${(e as Error).message}`;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "A policy is a JSON object.";
  if ((doc as { Statement?: unknown }).Statement === undefined) return "The policy has no Statement.";
  return undefined;
}

/** At most this many customer managed policies are offered to attach (IAM's quota is 1,500 per account). */
const MAX_POLICIES = 1_500;

const EXAMPLE = JSON.stringify(
  { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kms:DescribeKey"], Resource: "*" }] },
  null,
  2,
);

export function PoliciesPanel({ kind, name }: { kind: Holder; name: string }) {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const c = calls(kind, name);
  const inline = useLoad(async () => {
    const out = (await iam.send(c.list() as never)) as { PolicyNames?: string[] };
    return out.PolicyNames ?? [];
  }, [iam, kind, name]);
  // The account's customer managed policies, offered when attaching one (any ARN may still be typed).
  const choices = useLoad(async () => {
    const all: { value: string; label: string; description: string }[] = [];
    for await (const page of paginateListPolicies({ client: iam }, { Scope: "Local" })) {
      for (const p of page.Policies ?? []) all.push({ value: p.Arn!, label: p.PolicyName!, description: p.Arn! });
      if (all.length >= MAX_POLICIES) break;
    }
    return all;
  }, [iam]);
  const attached = useLoad(async () => {
    const out = (await iam.send(c.attached() as never)) as { AttachedPolicies?: AttachedPolicy[] };
    return out.AttachedPolicies ?? [];
  }, [iam, kind, name]);
  const [viewing, setViewing] = useState<{ name: string; text: string } | undefined>(undefined);
  const [policyName, setPolicyName] = useState("");
  const [document, setDocument] = useState(EXAMPLE);
  const [arn, setArn] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const problem = policyDocumentProblem(document);
  const run = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    try {
      await what();
      notify.success(done);
      inline.reload();
      attached.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <SpaceBetween size="l">
      <ErrorAlert error={inline.error ?? attached.error ?? error} />
      <Table<string>
        data-testid="inline-policies"
        variant="container"
        items={inline.value ?? []}
        loading={inline.loading && !inline.value}
        empty="No inline policies."
        header={<Header variant="h2">Inline policies</Header>}
        columnDefinitions={[
          { id: "name", header: "Policy name", cell: (p) => p },
          {
            id: "actions",
            header: "Actions",
            cell: (p) => (
              <SpaceBetween size="xs" direction="horizontal">
                <Button
                  variant="inline-link"
                  onClick={() =>
                    void iam
                      .send(c.get(p) as never)
                      .then((out) => setViewing({ name: p, text: policyText((out as { PolicyDocument?: string }).PolicyDocument) }))
                      .catch(setError)
                  }
                >
                  View
                </Button>
                <Button variant="inline-link" onClick={() => void run(() => iam.send(c.remove(p) as never), `Inline policy ${p} deleted.`)}>
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
            <Header variant="h3" actions={<Button onClick={() => setViewing(undefined)}>Close</Button>}>
              {viewing.name}
            </Header>
          }
        >
          <Box variant="code">
            <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>{viewing.text}</pre>
          </Box>
        </Container>
      )}
      <Container header={<Header variant="h3">Add or replace an inline policy</Header>}>
        <SpaceBetween size="s">
          <FormField label="Policy name">
            <Input value={policyName} onChange={({ detail }) => setPolicyName(detail.value)} ariaLabel="Inline policy name" />
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
          <Button
            disabled={!policyName || !!problem}
            onClick={() => void run(() => iam.send(c.put(policyName, document) as never), `Inline policy ${policyName} saved.`)}
          >
            Save inline policy
          </Button>
        </SpaceBetween>
      </Container>
      <Table<AttachedPolicy>
        data-testid="attached-policies"
        variant="container"
        items={attached.value ?? []}
        loading={attached.loading && !attached.value}
        trackBy="PolicyArn"
        empty="No managed policies attached."
        header={
          <Header
            variant="h2"
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <div style={{ minWidth: 320 }}>
                  <Autosuggest
                    value={arn}
                    onChange={({ detail }) => setArn(detail.value)}
                    options={(choices.value ?? []).filter((o) => !(attached.value ?? []).some((a) => a.PolicyArn === o.value))}
                    filteringType="auto"
                    statusType={choices.loading ? "loading" : choices.error ? "error" : "finished"}
                    loadingText="Loading policies"
                    errorText="The policies could not be listed: type an ARN."
                    enteredTextLabel={(text) => `Use: ${text}`}
                    empty="No customer managed policy."
                    placeholder="A policy name or arn:aws:iam::…:policy/…"
                    ariaLabel="Policy ARN"
                  />
                </div>
                <Button disabled={!arn} onClick={() => void run(() => iam.send(c.attach(arn) as never), "Policy attached.")}>
                  Attach
                </Button>
              </SpaceBetween>
            }
          >
            Attached managed policies
          </Header>
        }
        columnDefinitions={[
          { id: "name", header: "Policy", cell: (p) => p.PolicyName ?? "-" },
          { id: "arn", header: "ARN", cell: (p) => p.PolicyArn ?? "-" },
          {
            id: "detach",
            header: "",
            cell: (p) => (
              <Button variant="inline-link" onClick={() => void run(() => iam.send(c.detach(p.PolicyArn!) as never), "Policy detached.")}>
                Detach
              </Button>
            ),
          },
        ]}
      />
    </SpaceBetween>
  );
}

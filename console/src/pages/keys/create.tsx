/**
 * The create-key wizard, in the AWS console's steps: configure key (type, usage, spec), add labels
 * (alias, description, tags), key administrators (and whether they may delete the key), key users
 * (and other accounts), review (the generated key policy, editable as JSON). Finish calls
 * CreateKey with that policy, then CreateAlias.
 */
import { useMemo, useState } from "react";
import { CreateAliasCommand, CreateKeyCommand, KMSClient, type KeySpec, type KeyUsageType, type OriginType } from "@aws-sdk/client-kms";
import AttributeEditor from "@cloudscape-design/components/attribute-editor";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Checkbox from "@cloudscape-design/components/checkbox";
import ColumnLayout from "@cloudscape-design/components/column-layout";
import Container from "@cloudscape-design/components/container";
import ExpandableSection from "@cloudscape-design/components/expandable-section";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import RadioGroup from "@cloudscape-design/components/radio-group";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Textarea from "@cloudscape-design/components/textarea";
import Tiles from "@cloudscape-design/components/tiles";
import Wizard from "@cloudscape-design/components/wizard";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { useSession } from "../../session";
import { CodeEditor } from "./code-editor";
import { jsonSyntaxError } from "./json-syntax";
import { defaultKeyPolicy, NOT_JSON, policyProblem, type KeyUsageChoice } from "./policy";
import { PrincipalPicker, usePrincipals } from "./principals";

type KeyType = "symmetric" | "asymmetric";

/** The specs offered for each type and usage (those keyhold serves). */
const SPECS: Record<KeyType, Partial<Record<KeyUsageChoice, string[]>>> = {
  symmetric: { ENCRYPT_DECRYPT: ["SYMMETRIC_DEFAULT"], GENERATE_VERIFY_MAC: ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"] },
  asymmetric: {
    ENCRYPT_DECRYPT: ["RSA_2048", "RSA_3072", "RSA_4096"],
    SIGN_VERIFY: [
      "RSA_2048",
      "RSA_3072",
      "RSA_4096",
      "ECC_NIST_P256",
      "ECC_NIST_P384",
      "ECC_NIST_P521",
      "ECC_SECG_P256K1",
      "ECC_NIST_EDWARDS25519",
      "ML_DSA_44",
      "ML_DSA_65",
      "ML_DSA_87",
    ],
    KEY_AGREEMENT: ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"],
  },
};
const USAGE_LABELS: Record<KeyUsageChoice, { label: string; description: string }> = {
  ENCRYPT_DECRYPT: { label: "Encrypt and decrypt", description: "Use the key only to encrypt and decrypt data." },
  SIGN_VERIFY: { label: "Sign and verify", description: "Use the key only to sign messages and verify signatures." },
  GENERATE_VERIFY_MAC: { label: "Generate and verify MAC", description: "Use the key only to generate and verify HMAC tags." },
  KEY_AGREEMENT: { label: "Key agreement", description: "Use the key only to derive shared secrets (ECDH)." },
};

interface Tag {
  key: string;
  value: string;
}

/** CreateAlias's bounds: 1–256 characters of [a-zA-Z0-9:/_-] after "alias/", and not "aws/…" (AWS's own). */
function aliasProblem(alias: string): string | undefined {
  if (alias.length === 0) return "Enter an alias.";
  if (alias.length > 250) return "An alias is at most 250 characters (256 with alias/).";
  if (!/^[a-zA-Z0-9:/_-]+$/.test(alias)) return "An alias may contain only letters, digits, and / _ - :";
  if (alias.startsWith("aws/")) return "Aliases that begin with aws/ are reserved for AWS managed keys.";
  return undefined;
}

function tagsProblem(tags: Tag[]): string | undefined {
  if (tags.length > 50) return "A key has at most 50 tags.";
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.key.length < 1 || t.key.length > 128) return "Tag keys are 1–128 characters.";
    if (t.value.length > 256) return "Tag values are at most 256 characters.";
    if (t.key.startsWith("aws:")) return "Tag keys that begin with aws: are reserved.";
    if (seen.has(t.key)) return `The tag key ${t.key} is used twice.`;
    seen.add(t.key);
  }
  return undefined;
}

export default function CreateKey() {
  const kms = useClient(KMSClient);
  const { session } = useSession();
  const notify = useNotify();
  const { principals, error: principalsError } = usePrincipals();
  const [step, setStep] = useState(0);
  const [keyType, setKeyType] = useState<KeyType>("symmetric");
  const [usage, setUsage] = useState<KeyUsageChoice>("ENCRYPT_DECRYPT");
  const [spec, setSpec] = useState("SYMMETRIC_DEFAULT");
  const [origin, setOrigin] = useState<OriginType>("AWS_KMS");
  const [multiRegion, setMultiRegion] = useState(false);
  const [alias, setAlias] = useState("");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState<Tag[]>([]);
  const [administrators, setAdministrators] = useState<string[]>([]);
  const [allowAdminsToDelete, setAllowAdminsToDelete] = useState(true);
  const [users, setUsers] = useState<string[]>([]);
  const [otherAccounts, setOtherAccounts] = useState<string[]>([]);
  const [editedPolicy, setEditedPolicy] = useState<string | undefined>(undefined);
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  const usages = Object.keys(SPECS[keyType]) as KeyUsageChoice[];
  const specs = SPECS[keyType][usage] ?? [];
  const symmetric = keyType === "symmetric";
  const generated = useMemo(
    () =>
      defaultKeyPolicy({
        account: session.account,
        partition: session.arn.split(":")[1] || "aws",
        administrators,
        allowAdminsToDelete,
        users,
        otherAccounts: otherAccounts.map((a) => a.trim()).filter(Boolean),
        usage,
        symmetric,
      }),
    [session, administrators, allowAdminsToDelete, users, otherAccounts, usage, symmetric],
  );
  const policy = editedPolicy ?? generated;
  const problems: (string | undefined)[] = [
    specs.includes(spec) ? undefined : "Choose a key spec.",
    aliasProblem(alias) ?? (description.length > 8192 ? "A description is at most 8192 characters." : undefined) ?? tagsProblem(tags),
    undefined,
    otherAccounts.map((a) => a.trim()).find((a) => a && !/^\d{12}$/.test(a)) !== undefined ? "An AWS account ID is 12 digits." : undefined,
    policyProblem(policy),
  ];

  function chooseType(next: KeyType) {
    setKeyType(next);
    const nextUsage = (Object.keys(SPECS[next]) as KeyUsageChoice[])[0]!;
    setUsage(nextUsage);
    setSpec(SPECS[next][nextUsage]![0]!);
    if (next === "asymmetric") setOrigin("AWS_KMS");
  }
  function chooseUsage(next: KeyUsageChoice) {
    setUsage(next);
    setSpec(SPECS[keyType][next]![0]!);
  }

  async function finish() {
    const problem = problems.find(Boolean);
    if (problem) {
      setShowErrors(true);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await kms.send(
        new CreateKeyCommand({
          KeySpec: spec as KeySpec,
          KeyUsage: usage as KeyUsageType,
          Origin: origin,
          Description: description || undefined,
          Tags: tags.length ? tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) : undefined,
          Policy: policy,
          MultiRegion: multiRegion || undefined,
        }),
      );
      const keyId = created.KeyMetadata!.KeyId!;
      try {
        await kms.send(new CreateAliasCommand({ AliasName: `alias/${alias}`, TargetKeyId: keyId }));
        notify.success(`Your key ${alias} was created.`);
      } catch (e) {
        notify.error(e, `The key ${keyId} was created, but its alias was not`);
      }
      navigate(`/keys/${encodeURIComponent(keyId)}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (index: number) => (showErrors ? problems[index] : undefined);

  return (
    <Wizard
      activeStepIndex={step}
      isLoadingNextStep={busy}
      submitButtonText="Finish"
      onCancel={() => navigate("/keys")}
      onSubmit={() => void finish()}
      onNavigate={({ detail }) => {
        if (detail.requestedStepIndex > step && problems.slice(0, detail.requestedStepIndex).some(Boolean)) {
          setShowErrors(true);
          return;
        }
        setShowErrors(false);
        setStep(detail.requestedStepIndex);
      }}
      i18nStrings={{
        stepNumberLabel: (n) => `Step ${n}`,
        collapsedStepsLabel: (n, total) => `Step ${n} of ${total}`,
        navigationAriaLabel: "Steps",
        cancelButton: "Cancel",
        previousButton: "Previous",
        nextButton: "Next",
        optional: "optional",
      }}
      steps={[
        {
          title: "Configure key",
          content: (
            <Container header={<Header variant="h2">Key configuration</Header>}>
              <SpaceBetween size="l">
                <FormField label="Key type">
                  <Tiles
                    value={keyType}
                    onChange={({ detail }) => chooseType(detail.value as KeyType)}
                    items={[
                      {
                        value: "symmetric",
                        label: "Symmetric",
                        description: "A single key used for encrypting and decrypting data or generating and verifying HMAC codes.",
                      },
                      {
                        value: "asymmetric",
                        label: "Asymmetric",
                        description:
                          "A public and private key pair used for encrypting and decrypting data, signing and verifying messages, or deriving shared secrets.",
                      },
                    ]}
                  />
                </FormField>
                <FormField label="Key usage">
                  <Tiles
                    value={usage}
                    onChange={({ detail }) => chooseUsage(detail.value as KeyUsageChoice)}
                    items={usages.map((u) => ({ value: u, ...USAGE_LABELS[u] }))}
                  />
                </FormField>
                {(keyType === "asymmetric" || usage === "GENERATE_VERIFY_MAC") && (
                  <FormField label="Key spec" errorText={fieldError(0)}>
                    <RadioGroup
                      value={spec}
                      onChange={({ detail }) => setSpec(detail.value)}
                      items={specs.map((s) => ({ value: s, label: s }))}
                    />
                  </FormField>
                )}
                <ExpandableSection headerText="Advanced options">
                  <SpaceBetween size="l">
                    {symmetric && usage === "ENCRYPT_DECRYPT" && (
                      <FormField label="Key material origin">
                        <RadioGroup
                          value={origin}
                          onChange={({ detail }) => setOrigin(detail.value as OriginType)}
                          items={[
                            { value: "AWS_KMS", label: "KMS", description: "keyhold generates the key material." },
                            {
                              value: "EXTERNAL",
                              label: "External (import key material)",
                              description: "You import the key material (ImportKeyMaterial).",
                            },
                          ]}
                        />
                      </FormField>
                    )}
                    <FormField label="Regionality">
                      <RadioGroup
                        value={multiRegion ? "multi" : "single"}
                        onChange={({ detail }) => setMultiRegion(detail.value === "multi")}
                        items={[
                          {
                            value: "single",
                            label: "Single-Region key",
                            description: "Never allow this key to be shared across multiple Regions.",
                          },
                          {
                            value: "multi",
                            label: "Multi-Region key",
                            description: "Allow this key to be replicated into other Regions.",
                          },
                        ]}
                      />
                    </FormField>
                  </SpaceBetween>
                </ExpandableSection>
              </SpaceBetween>
            </Container>
          ),
        },
        {
          title: "Add labels",
          content: (
            <SpaceBetween size="l">
              <Container header={<Header variant="h2">Alias</Header>}>
                <FormField
                  label="Alias"
                  description="A display name for the key; you can change it later."
                  errorText={showErrors ? aliasProblem(alias) : undefined}
                >
                  <Input
                    value={alias}
                    onChange={({ detail }) => setAlias(detail.value.replace(/^alias\//, ""))}
                    placeholder="Enter alias"
                    ariaLabel="Alias"
                  />
                </FormField>
              </Container>
              <Container header={<Header variant="h2">Description - optional</Header>}>
                <FormField label="Description">
                  <Textarea
                    value={description}
                    onChange={({ detail }) => setDescription(detail.value)}
                    placeholder="Description of the key"
                    ariaLabel="Description"
                  />
                </FormField>
              </Container>
              <Container header={<Header variant="h2">Tags - optional</Header>}>
                <FormField errorText={showErrors ? tagsProblem(tags) : undefined}>
                  <AttributeEditor<Tag>
                    items={tags}
                    addButtonText="Add tag"
                    removeButtonText="Remove"
                    empty="No tags associated with the resource."
                    onAddButtonClick={() => setTags([...tags, { key: "", value: "" }])}
                    onRemoveButtonClick={({ detail }) => setTags(tags.filter((_, i) => i !== detail.itemIndex))}
                    definition={[
                      {
                        label: "Tag key",
                        control: (t, i) => (
                          <Input
                            value={t.key}
                            ariaLabel="Tag key"
                            onChange={({ detail }) => setTags(tags.map((x, j) => (j === i ? { ...x, key: detail.value } : x)))}
                          />
                        ),
                      },
                      {
                        label: "Tag value - optional",
                        control: (t, i) => (
                          <Input
                            value={t.value}
                            ariaLabel="Tag value"
                            onChange={({ detail }) => setTags(tags.map((x, j) => (j === i ? { ...x, value: detail.value } : x)))}
                          />
                        ),
                      },
                    ]}
                  />
                </FormField>
              </Container>
            </SpaceBetween>
          ),
        },
        {
          title: "Define key administrative permissions",
          content: (
            <SpaceBetween size="l">
              <PrincipalPicker
                testId="key-administrators"
                title="Key administrators"
                description="The IAM users and roles who can administer this key through the KMS API (not use it)."
                principals={principals}
                error={principalsError}
                selected={administrators}
                onChange={setAdministrators}
              />
              <Container header={<Header variant="h2">Key deletion</Header>}>
                <Checkbox checked={allowAdminsToDelete} onChange={({ detail }) => setAllowAdminsToDelete(detail.checked)}>
                  Allow key administrators to delete this key.
                </Checkbox>
              </Container>
            </SpaceBetween>
          ),
        },
        {
          title: "Define key usage permissions",
          content: (
            <SpaceBetween size="l">
              <PrincipalPicker
                testId="key-users"
                title="This account"
                description="The IAM users and roles who can use this key in cryptographic operations."
                principals={principals}
                error={principalsError}
                selected={users}
                onChange={setUsers}
              />
              <Container
                header={
                  <Header
                    variant="h2"
                    description="Other AWS accounts that can use this key; their administrators must still allow their users."
                  >
                    Other AWS accounts
                  </Header>
                }
              >
                <FormField errorText={fieldError(3)}>
                  <AttributeEditor<string>
                    items={otherAccounts}
                    addButtonText="Add another AWS account"
                    removeButtonText="Remove"
                    empty="No other accounts."
                    onAddButtonClick={() => setOtherAccounts([...otherAccounts, ""])}
                    onRemoveButtonClick={({ detail }) => setOtherAccounts(otherAccounts.filter((_, i) => i !== detail.itemIndex))}
                    definition={[
                      {
                        label: "AWS account ID",
                        control: (a, i) => (
                          <Input
                            value={a}
                            ariaLabel="AWS account ID"
                            inputMode="numeric"
                            onChange={({ detail }) => setOtherAccounts(otherAccounts.map((x, j) => (j === i ? detail.value : x)))}
                          />
                        ),
                      },
                    ]}
                  />
                </FormField>
              </Container>
            </SpaceBetween>
          ),
        },
        {
          title: "Review",
          content: (
            <SpaceBetween size="l">
              <ErrorAlert error={error} />
              <Container header={<Header variant="h2">Key configuration</Header>}>
                <KeyValuePairs
                  columns={4}
                  items={[
                    { label: "Key type", value: symmetric ? "Symmetric" : "Asymmetric" },
                    { label: "Key spec", value: spec },
                    { label: "Key usage", value: USAGE_LABELS[usage].label },
                    { label: "Origin", value: origin === "EXTERNAL" ? "External" : "KMS" },
                    { label: "Regionality", value: multiRegion ? "Multi-Region" : "Single-Region" },
                  ]}
                />
              </Container>
              <Container header={<Header variant="h2">Alias and description</Header>}>
                <ColumnLayout columns={2} variant="text-grid">
                  <KeyValuePairs items={[{ label: "Alias", value: alias }]} />
                  <KeyValuePairs items={[{ label: "Description", value: description || "-" }]} />
                </ColumnLayout>
              </Container>
              <Container header={<Header variant="h2">Tags</Header>}>
                {tags.length === 0 ? (
                  <Box color="text-body-secondary">No tags.</Box>
                ) : (
                  <KeyValuePairs columns={3} items={tags.map((t) => ({ label: t.key, value: t.value || "-" }))} />
                )}
              </Container>
              <Container
                header={
                  <Header
                    variant="h2"
                    description="The key policy the AWS console would write for these choices. Edit it here if you need to."
                    actions={
                      editedPolicy !== undefined && (
                        <Button onClick={() => setEditedPolicy(undefined)} iconName="undo">
                          Reset to the generated policy
                        </Button>
                      )
                    }
                  >
                    Key policy
                  </Header>
                }
              >
                <FormField stretch controlId="create-key-policy" errorText={policyProblem(policy)} label="Policy document (JSON)">
                  <CodeEditor
                    controlId="create-key-policy"
                    value={policy}
                    onChange={setEditedPolicy}
                    ariaLabel="Key policy"
                    errorLine={problems[4]?.startsWith(NOT_JSON) ? jsonSyntaxError(policy)?.line : undefined}
                  />
                </FormField>
              </Container>
            </SpaceBetween>
          ),
        },
      ]}
    />
  );
}

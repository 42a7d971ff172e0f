/**
 * One key, as on the AWS console's key page: general configuration (description editable), then
 * tabs for the key policy (default view listing administrators and users, and the JSON view,
 * editable), cryptographic configuration, tags (editable), key rotation, aliases (create, delete),
 * the multi-Region configuration of a multi-Region key, grants, the public key (asymmetric keys)
 * and what depends on the key. Key actions: enable, disable, schedule deletion, cancel deletion.
 */
import { useCallback, useEffect, useState } from "react";
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListResourceTagsCommand,
  type AliasListEntry,
  type KeyMetadata,
  type Tag,
} from "@aws-sdk/client-kms";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import ButtonDropdown from "@cloudscape-design/components/button-dropdown";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Spinner from "@cloudscape-design/components/spinner";
import Tabs from "@cloudscape-design/components/tabs";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { KeyActionModal, type KeyAction } from "./actions";
import { KeyDependencies } from "./dependencies";
import { KeyPolicyTab } from "./policy-tab";
import { PublicKeyTab } from "./public-key";
import { RotationTab } from "./rotation";
import { GrantsTab } from "./grants";
import { KeyStateIndicator } from "./state";
import { TagsTab } from "./tags-tab";
import { AliasesTab } from "./aliases-tab";
import { DescriptionModal } from "./description-modal";
import { RegionalityTab } from "./regionality";

interface Loaded {
  key: KeyMetadata;
  policy: string | undefined;
  policyError: unknown;
  aliases: AliasListEntry[];
  tags: Tag[];
  tagsError: unknown;
}

const date = (d: Date | undefined) => (d ? d.toLocaleString() : "-");

/** A page per key: opening another key (the same route) starts afresh, on its first tab, without the last key's data. */
export default function KeyDetail(props: PageProps) {
  return <KeyPage key={props.params.keyId} {...props} />;
}

function KeyPage({ params }: PageProps) {
  const kms = useClient(KMSClient);
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [action, setAction] = useState<KeyAction | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const [editingDescription, setEditingDescription] = useState(false);
  const reload = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    let live = true;
    (async () => {
      const key = (await kms.send(new DescribeKeyCommand({ KeyId: params.keyId }))).KeyMetadata!;
      // What this caller may not read (a key user is not allowed GetKeyPolicy) is said where it would be shown.
      const [policy, aliases, tags] = await Promise.allSettled([
        kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: "default" })),
        kms.send(new ListAliasesCommand({ KeyId: key.KeyId })),
        kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId })),
      ]);
      if (!live) return;
      setLoaded({
        key,
        policy: policy.status === "fulfilled" ? policy.value.Policy : undefined,
        policyError: policy.status === "rejected" ? policy.reason : undefined,
        aliases: aliases.status === "fulfilled" ? (aliases.value.Aliases ?? []) : [],
        tags: tags.status === "fulfilled" ? (tags.value.Tags ?? []) : [],
        tagsError: tags.status === "rejected" ? tags.reason : undefined,
      });
      setError(undefined);
    })().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, params.keyId, version]);

  if (error && !loaded) return <ErrorAlert error={error} />;
  if (!loaded) return <Spinner size="large" />;
  const { key } = loaded;
  const state = key.KeyState ?? "";
  const awsManaged = key.KeyManager === "AWS";
  const asymmetric =
    !!key.KeySpec &&
    (key.KeySpec.startsWith("RSA_") ||
      key.KeySpec.startsWith("ECC_") ||
      key.KeySpec.startsWith("ML_DSA_") ||
      key.KeySpec.startsWith("SM2"));
  const title = loaded.aliases[0]?.AliasName?.replace(/^alias\//, "") ?? key.KeyId ?? params.keyId ?? "";

  return (
    <ContentLayout
      header={
        <Header
          variant="h1"
          description={title !== key.KeyId ? key.KeyId : undefined}
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              <Button iconName="refresh" ariaLabel="Refresh" onClick={reload} />
              {!awsManaged && (
                <ButtonDropdown
                  data-testid="key-actions"
                  items={[
                    { id: "enable", text: "Enable", disabled: state !== "Disabled" },
                    { id: "disable", text: "Disable", disabled: state !== "Enabled" },
                    {
                      id: "schedule",
                      text: "Schedule key deletion",
                      disabled: state === "PendingDeletion" || state === "PendingReplicaDeletion",
                    },
                    { id: "cancel", text: "Cancel key deletion", disabled: state !== "PendingDeletion" },
                  ]}
                  onItemClick={({ detail }) => setAction(detail.id as KeyAction)}
                >
                  Key actions
                </ButtonDropdown>
              )}
            </SpaceBetween>
          }
        >
          {title}
        </Header>
      }
    >
      <SpaceBetween size="l">
        <ErrorAlert error={error} />
        <Container
          header={
            <Header variant="h2" actions={!awsManaged && <Button onClick={() => setEditingDescription(true)}>Edit description</Button>}>
              General configuration
            </Header>
          }
        >
          <KeyValuePairs
            columns={4}
            items={[
              { label: "Alias", value: loaded.aliases.map((a) => a.AliasName).join(", ") || "-" },
              { label: "Status", value: <KeyStateIndicator state={state} /> },
              { label: "Creation date", value: date(key.CreationDate) },
              { label: "ARN", value: key.Arn ?? "-" },
              { label: "Description", value: <span data-testid="key-description">{key.Description || "-"}</span> },
              { label: "Regionality", value: key.MultiRegion ? "Multi-Region" : "Single-Region" },
              ...(state === "PendingDeletion" ? [{ label: "Scheduled deletion date", value: date(key.DeletionDate) }] : []),
            ]}
          />
        </Container>
        <Tabs
          tabs={[
            {
              id: "policy",
              label: "Key policy",
              content: loaded.policyError ? (
                <ErrorAlert error={loaded.policyError} header="The key policy could not be read" />
              ) : (
                <KeyPolicyTab keyId={key.KeyId!} policy={loaded.policy ?? ""} editable={!awsManaged} onSaved={reload} />
              ),
            },
            {
              id: "crypto",
              label: "Cryptographic configuration",
              content: (
                <Container>
                  <KeyValuePairs
                    columns={3}
                    items={[
                      {
                        label: "Key type",
                        value: key.KeySpec === "SYMMETRIC_DEFAULT" || key.KeySpec?.startsWith("HMAC_") ? "Symmetric" : "Asymmetric",
                      },
                      { label: "Key spec", value: key.KeySpec ?? "-" },
                      { label: "Key usage", value: key.KeyUsage ?? "-" },
                      { label: "Origin", value: key.Origin ?? "-" },
                      { label: "Encryption algorithms", value: key.EncryptionAlgorithms?.join(", ") || "-" },
                      { label: "Signing algorithms", value: key.SigningAlgorithms?.join(", ") || "-" },
                      { label: "MAC algorithms", value: key.MacAlgorithms?.join(", ") || "-" },
                      { label: "Key agreement algorithms", value: key.KeyAgreementAlgorithms?.join(", ") || "-" },
                      ...(key.CustomKeyStoreId ? [{ label: "Custom key store", value: key.CustomKeyStoreId }] : []),
                    ]}
                  />
                </Container>
              ),
            },
            {
              id: "tags",
              label: "Tags",
              content: (
                <SpaceBetween size="s">
                  <ErrorAlert error={loaded.tagsError} header="The tags could not be read" />
                  {!loaded.tagsError && <TagsTab keyId={key.KeyId!} tags={loaded.tags} editable={!awsManaged} onSaved={reload} />}
                </SpaceBetween>
              ),
            },
            ...(key.KeySpec === "SYMMETRIC_DEFAULT" && key.Origin === "AWS_KMS"
              ? [{ id: "rotation", label: "Key rotation", content: <RotationTab keyId={key.KeyId!} editable={!awsManaged} /> }]
              : []),
            {
              id: "aliases",
              label: "Aliases",
              content: <AliasesTab keyId={key.KeyId!} aliases={loaded.aliases} editable={!awsManaged} onSaved={reload} />,
            },
            ...(key.MultiRegion ? [{ id: "regionality", label: "Regionality", content: <RegionalityTab keyMetadata={key} /> }] : []),
            { id: "grants", label: "Grants", content: <GrantsTab keyId={key.KeyId!} /> },
            ...(asymmetric ? [{ id: "public-key", label: "Public key", content: <PublicKeyTab keyId={key.KeyId!} name={title} /> }] : []),
            { id: "dependencies", label: "Dependencies", content: <KeyDependencies keyArn={key.Arn ?? ""} /> },
          ]}
        />
        {key.KeyManager === "AWS" && <Box color="text-body-secondary">AWS managed keys are managed by the service that created them.</Box>}
      </SpaceBetween>
      {editingDescription && (
        <DescriptionModal
          keyId={key.KeyId!}
          description={key.Description ?? ""}
          onClose={() => setEditingDescription(false)}
          onSaved={() => {
            setEditingDescription(false);
            reload();
          }}
        />
      )}
      {action && (
        <KeyActionModal
          action={action}
          keyId={key.KeyId!}
          name={title}
          onClose={() => setAction(undefined)}
          onDone={() => {
            setAction(undefined);
            reload();
          }}
        />
      )}
    </ContentLayout>
  );
}

/**
 * The key's aliases: the list (ListAliases for the key), Create alias (CreateAlias) and Delete
 * (DeleteAlias), each in a modal. The alias rules (alias/ then letters, digits and / _ - :; not
 * alias/aws/; unique in the account and Region) are KMS's: a refusal is shown with its message.
 */
import { useState } from "react";
import { CreateAliasCommand, DeleteAliasCommand, KMSClient, type AliasListEntry } from "@aws-sdk/client-kms";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";

const date = (d: Date | undefined) => (d ? d.toLocaleString() : "-");

/** The AliasName CreateAlias receives for what was typed: "alias/" is added unless it is there. */
export const aliasName = (typed: string) => (typed.startsWith("alias/") ? typed : `alias/${typed}`);

export function AliasesTab({
  keyId,
  aliases,
  editable,
  onSaved,
}: {
  keyId: string;
  aliases: AliasListEntry[];
  editable: boolean;
  onSaved(): void;
}) {
  const kms = useClient(KMSClient);
  const notify = useNotify();
  const [selected, setSelected] = useState<AliasListEntry[]>([]);
  const [modal, setModal] = useState<"create" | "delete" | undefined>(undefined);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const target = selected[0]?.AliasName;

  function open(which: "create" | "delete") {
    setTyped("");
    setError(undefined);
    setModal(which);
  }

  async function run() {
    setBusy(true);
    setError(undefined);
    try {
      if (modal === "create") {
        const name = aliasName(typed.trim());
        await kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keyId }));
        notify.success(`The alias ${name} now names this key.`);
      } else if (target) {
        await kms.send(new DeleteAliasCommand({ AliasName: target }));
        notify.success(`The alias ${target} is deleted; the key is not affected.`);
        setSelected([]);
      }
      setModal(undefined);
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Table<AliasListEntry>
        data-testid="key-aliases"
        header={
          <Header
            counter={`(${aliases.length})`}
            actions={
              editable && (
                <SpaceBetween size="xs" direction="horizontal">
                  <Button disabled={!target} onClick={() => open("delete")}>
                    Delete
                  </Button>
                  <Button onClick={() => open("create")}>Create alias</Button>
                </SpaceBetween>
              )
            }
          >
            Aliases
          </Header>
        }
        items={aliases}
        empty="No aliases."
        selectionType={editable ? "single" : undefined}
        selectedItems={selected}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        trackBy="AliasName"
        ariaLabels={{
          itemSelectionLabel: (_, a) => `Select ${a.AliasName ?? ""}`,
          allItemsSelectionLabel: () => "Select all",
          selectionGroupLabel: "Aliases",
        }}
        columnDefinitions={[
          { id: "name", header: "Alias name", cell: (a) => a.AliasName },
          { id: "arn", header: "Alias ARN", cell: (a) => a.AliasArn },
          { id: "created", header: "Creation date", cell: (a) => date(a.CreationDate) },
        ]}
      />
      {modal && (
        <Modal
          visible
          data-testid="alias-modal"
          onDismiss={() => setModal(undefined)}
          header={modal === "create" ? "Create alias" : "Delete alias"}
          footer={
            <Box float="right">
              <SpaceBetween direction="horizontal" size="xs">
                <Button variant="link" onClick={() => setModal(undefined)}>
                  Cancel
                </Button>
                <Button
                  variant="primary"
                  loading={busy}
                  disabled={modal === "create" && typed.trim() === ""}
                  onClick={() => void run()}
                  data-testid="alias-confirm"
                >
                  {modal === "create" ? "Create alias" : "Delete"}
                </Button>
              </SpaceBetween>
            </Box>
          }
        >
          <SpaceBetween size="m">
            <ErrorAlert error={error} />
            {modal === "create" ? (
              <FormField
                label="Alias name"
                description="Letters, digits, and / _ - : after alias/. Aliases that begin with alias/aws/ are reserved for AWS managed keys."
              >
                <Input value={typed} onChange={({ detail }) => setTyped(detail.value)} placeholder="alias/" ariaLabel="Alias name" />
              </FormField>
            ) : (
              <Box>
                Delete the alias {target}? Applications that name the key by this alias will no longer find it; the key itself is not
                affected.
              </Box>
            )}
          </SpaceBetween>
        </Modal>
      )}
    </>
  );
}

/** Edit the key's description (UpdateKeyDescription); KMS bounds it (8192 characters) and its refusal is shown. */
import { useState } from "react";
import { KMSClient, UpdateKeyDescriptionCommand } from "@aws-sdk/client-kms";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Textarea from "@cloudscape-design/components/textarea";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";

export function DescriptionModal({
  keyId,
  description,
  onClose,
  onSaved,
}: {
  keyId: string;
  description: string;
  onClose(): void;
  onSaved(): void;
}) {
  const kms = useClient(KMSClient);
  const notify = useNotify();
  const [text, setText] = useState(description);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  async function save() {
    setBusy(true);
    setError(undefined);
    try {
      await kms.send(new UpdateKeyDescriptionCommand({ KeyId: keyId, Description: text }));
      notify.success("The description is saved.");
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      visible
      data-testid="description-modal"
      onDismiss={onClose}
      header="Edit description"
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" onClick={onClose}>
              Cancel
            </Button>
            <Button variant="primary" loading={busy} onClick={() => void save()} data-testid="description-save">
              Save changes
            </Button>
          </SpaceBetween>
        </Box>
      }
    >
      <SpaceBetween size="m">
        <ErrorAlert error={error} />
        <FormField label="Description" description="Up to 8192 characters.">
          <Textarea value={text} onChange={({ detail }) => setText(detail.value)} ariaLabel="Key description" rows={4} />
        </FormField>
      </SpaceBetween>
    </Modal>
  );
}

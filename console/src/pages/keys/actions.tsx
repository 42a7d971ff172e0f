/**
 * Key actions, each confirmed in a modal: enable, disable, schedule deletion (a waiting period of
 * 7–30 days, and the word "confirm" typed), cancel deletion. A refusal (a key user is not allowed
 * DisableKey) is shown in the modal with AWS's message.
 */
import { useState } from "react";
import { CancelKeyDeletionCommand, DisableKeyCommand, EnableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from "@aws-sdk/client-kms";
import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import FormField from "@cloudscape-design/components/form-field";
import Input from "@cloudscape-design/components/input";
import Modal from "@cloudscape-design/components/modal";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { KeyDependencySummary } from "./dependencies";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";

export type KeyAction = "enable" | "disable" | "schedule" | "cancel";

const TITLES: Record<KeyAction, string> = {
  enable: "Enable key",
  disable: "Disable key",
  schedule: "Schedule key deletion",
  cancel: "Cancel key deletion",
};

/** ScheduleKeyDeletion's PendingWindowInDays: 7 to 30, 30 by default. */
export function waitingPeriodProblem(text: string): string | undefined {
  if (!/^\d{1,2}$/.test(text.trim())) return "Enter a whole number of days from 7 to 30.";
  const days = Number(text);
  return days < 7 || days > 30 ? "The waiting period is 7 to 30 days." : undefined;
}

export function KeyActionModal({
  action,
  keyId,
  name,
  onClose,
  onDone,
}: {
  action: KeyAction;
  keyId: string;
  name: string;
  onClose(): void;
  onDone(): void;
}) {
  const kms = useClient(KMSClient);
  const notify = useNotify();
  const [days, setDays] = useState("30");
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const daysProblem = action === "schedule" ? waitingPeriodProblem(days) : undefined;
  const ready = action !== "schedule" || (!daysProblem && typed === "confirm");

  async function run() {
    setBusy(true);
    setError(undefined);
    try {
      if (action === "enable") await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      else if (action === "disable") await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      else if (action === "cancel") await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
      else {
        const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: Number(days) }));
        notify.success(`The key ${name} is scheduled for deletion on ${out.DeletionDate?.toLocaleString() ?? "its deletion date"}.`);
      }
      if (action === "enable") notify.success(`The key ${name} is enabled.`);
      if (action === "disable") notify.success(`The key ${name} is disabled.`);
      if (action === "cancel") notify.success(`The deletion of the key ${name} is cancelled; the key is disabled until you enable it.`);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      visible
      onDismiss={onClose}
      header={TITLES[action]}
      data-testid="key-action-modal"
      footer={
        <Box float="right">
          <SpaceBetween direction="horizontal" size="xs">
            <Button variant="link" onClick={onClose}>
              Cancel
            </Button>
            <Button variant="primary" loading={busy} disabled={!ready} onClick={() => void run()} data-testid="key-action-confirm">
              {action === "schedule"
                ? "Schedule deletion"
                : action === "cancel"
                  ? "Cancel key deletion"
                  : action === "enable"
                    ? "Enable key"
                    : "Disable key"}
            </Button>
          </SpaceBetween>
        </Box>
      }
    >
      <SpaceBetween size="m">
        <ErrorAlert error={error} />
        {action === "disable" && (
          <Box>
            A disabled key cannot be used in cryptographic operations until it is enabled again. Data encrypted under {name} cannot be
            decrypted meanwhile.
          </Box>
        )}
        {(action === "disable" || action === "schedule") && <KeyDependencySummary keyArn={keyId} />}
        {action === "enable" && <Box>The key {name} can be used again in cryptographic operations.</Box>}
        {action === "cancel" && <Box>The key {name} is kept, in the Disabled state.</Box>}
        {action === "schedule" && (
          <>
            <Alert type="warning" header="Deleting a key is irreversible">
              After the waiting period keyhold destroys the key material of {name} and everything encrypted under it can never be decrypted.
              To keep the key but stop its use, disable it instead.
            </Alert>
            <FormField label="Waiting period (in days)" description="Enter a value from 7 to 30 days." errorText={daysProblem}>
              <Input
                value={days}
                onChange={({ detail }) => setDays(detail.value)}
                inputMode="numeric"
                ariaLabel="Waiting period (in days)"
              />
            </FormField>
            <FormField label='To confirm the deletion, type "confirm".'>
              <Input value={typed} onChange={({ detail }) => setTyped(detail.value)} placeholder="confirm" ariaLabel="Type confirm" />
            </FormField>
          </>
        )}
      </SpaceBetween>
    </Modal>
  );
}

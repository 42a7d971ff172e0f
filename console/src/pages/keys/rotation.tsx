/** Automatic rotation (period 90–2560 days), on-demand rotation, and the rotation history. */
import { useEffect, useState } from "react";
import {
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  type GetKeyRotationStatusResponse,
  type RotationsListEntry,
} from "@aws-sdk/client-kms";
import Button from "@cloudscape-design/components/button";
import Checkbox from "@cloudscape-design/components/checkbox";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";

function periodProblem(text: string): string | undefined {
  if (!/^\d{1,4}$/.test(text.trim())) return "Enter a whole number of days from 90 to 2560.";
  const n = Number(text);
  return n < 90 || n > 2560 ? "The rotation period is 90 to 2560 days." : undefined;
}

export function RotationTab({ keyId, editable }: { keyId: string; editable: boolean }) {
  const kms = useClient(KMSClient);
  const notify = useNotify();
  const [status, setStatus] = useState<GetKeyRotationStatusResponse | undefined>(undefined);
  const [history, setHistory] = useState<RotationsListEntry[]>([]);
  const [enabled, setEnabled] = useState(false);
  const [period, setPeriod] = useState("365");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    (async () => {
      const s = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      const h = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 100 })).catch(() => ({ Rotations: [] }));
      if (!live) return;
      setStatus(s);
      setEnabled(!!s.KeyRotationEnabled);
      setPeriod(String(s.RotationPeriodInDays ?? 365));
      setHistory(h.Rotations ?? []);
    })().catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, keyId, version]);

  async function act(what: () => Promise<unknown>, done: string) {
    setBusy(true);
    setError(undefined);
    try {
      await what();
      notify.success(done);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const problem = enabled ? periodProblem(period) : undefined;
  return (
    <SpaceBetween size="l">
      <ErrorAlert error={error} />
      <Container
        header={
          <Header
            variant="h2"
            actions={
              editable && (
                <SpaceBetween size="xs" direction="horizontal">
                  <Button
                    disabled={busy}
                    onClick={() =>
                      void act(
                        () => kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
                        "The key is rotating: new encryptions use new key material; old ciphertexts still decrypt.",
                      )
                    }
                  >
                    Rotate now
                  </Button>
                  <Button
                    variant="primary"
                    loading={busy}
                    disabled={!!problem}
                    onClick={() =>
                      void act(
                        () =>
                          kms.send(
                            enabled
                              ? new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: Number(period) })
                              : new DisableKeyRotationCommand({ KeyId: keyId }),
                          ),
                        enabled ? `Automatic rotation every ${period} days is on.` : "Automatic rotation is off.",
                      )
                    }
                  >
                    Save
                  </Button>
                </SpaceBetween>
              )
            }
          >
            Automatic key rotation
          </Header>
        }
      >
        <SpaceBetween size="m">
          <Checkbox checked={enabled} disabled={!editable} onChange={({ detail }) => setEnabled(detail.checked)}>
            Automatically rotate this KMS key
          </Checkbox>
          {enabled && (
            <FormField label="Rotation period (in days)" description="From 90 to 2560 days." errorText={problem}>
              <Input
                value={period}
                disabled={!editable}
                onChange={({ detail }) => setPeriod(detail.value)}
                inputMode="numeric"
                ariaLabel="Rotation period (in days)"
              />
            </FormField>
          )}
          {status && (
            <KeyValuePairs
              columns={3}
              items={[
                { label: "Status", value: status.KeyRotationEnabled ? "Enabled" : "Disabled" },
                { label: "Next rotation date", value: status.NextRotationDate?.toLocaleString() ?? "-" },
                { label: "On-demand rotation started", value: status.OnDemandRotationStartDate?.toLocaleString() ?? "-" },
              ]}
            />
          )}
        </SpaceBetween>
      </Container>
      <Table<RotationsListEntry>
        header={<Header counter={`(${history.length})`}>Rotation history</Header>}
        items={history}
        empty="The key has not been rotated."
        columnDefinitions={[
          { id: "date", header: "Date", cell: (r) => r.RotationDate?.toLocaleString() ?? "-" },
          { id: "type", header: "Type", cell: (r) => r.RotationType ?? "-" },
        ]}
      />
    </SpaceBetween>
  );
}

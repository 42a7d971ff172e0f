/** Store a new secret: name, value (text, often JSON), encryption key, description. */
import { useState } from "react";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Form from "@cloudscape-design/components/form";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Textarea from "@cloudscape-design/components/textarea";
import { describeError, useClient } from "../../aws";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { KeySelect, MANAGED } from "./key-select";

/** Secrets Manager's bounds (the service model): names 1–512 of these characters, values ≤ 65,536 bytes. */
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MAX_VALUE = 65_536;

export default function CreateSecret() {
  const sm = useClient(SecretsManagerClient);
  const notify = useNotify();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [value, setValue] = useState("");
  const [key, setKey] = useState(MANAGED);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const nameError = name && !NAME.test(name) ? "1–512 letters, digits and /_+=.@- only." : undefined;
  const valueBytes = new TextEncoder().encode(value).length;
  const valueError = valueBytes > MAX_VALUE ? `The value is ${valueBytes} bytes; a secret holds at most ${MAX_VALUE}.` : undefined;

  const submit = async () => {
    setBusy(true);
    setRefusal(undefined);
    try {
      await sm.send(
        new CreateSecretCommand({
          Name: name,
          Description: description || undefined,
          SecretString: value,
          KmsKeyId: key === MANAGED ? undefined : key,
        }),
      );
      // The value typed is not kept once stored.
      setValue("");
      notify.success(`Secret ${name} stored.`);
      navigate(`/secrets/${encodeURIComponent(name)}`);
    } catch (e) {
      const { code, message } = describeError(e);
      setRefusal(`${code}: ${message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <Form
        header={<Header variant="h1">Store a new secret</Header>}
        errorText={refusal}
        actions={
          <SpaceBetween size="xs" direction="horizontal">
            <Button formAction="none" variant="link" onClick={() => navigate("/secrets")}>
              Cancel
            </Button>
            <Button variant="primary" loading={busy} disabled={!name || !!nameError || !value || !!valueError}>
              Store
            </Button>
          </SpaceBetween>
        }
      >
        <Container>
          <SpaceBetween size="m">
            <FormField label="Secret name" errorText={nameError}>
              <Input value={name} onChange={({ detail }) => setName(detail.value)} ariaLabel="Secret name" placeholder="prod/db/password" />
            </FormField>
            <FormField label="Secret value" description="Plain text; key/value pairs as JSON." errorText={valueError}>
              <Textarea
                value={value}
                onChange={({ detail }) => setValue(detail.value)}
                ariaLabel="Secret value"
                rows={5}
                spellcheck={false}
              />
            </FormField>
            <FormField label="Encryption key">
              <KeySelect value={key} onChange={setKey} />
            </FormField>
            <FormField label="Description - optional">
              <Input value={description} onChange={({ detail }) => setDescription(detail.value)} ariaLabel="Description" />
            </FormField>
          </SpaceBetween>
        </Container>
      </Form>
    </form>
  );
}

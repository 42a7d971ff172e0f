/**
 * An IAM user's console password (its login profile): whether it has one, since when, and whether
 * it must be changed at the next sign-in; set one, reset it, require a change, remove it. The
 * password typed is sent once (CreateLoginProfile or UpdateLoginProfile) and cleared from the form.
 */
import { useState } from "react";
import {
  CreateLoginProfileCommand,
  DeleteLoginProfileCommand,
  GetLoginProfileCommand,
  IAMClient,
  UpdateLoginProfileCommand,
  type LoginProfile,
} from "@aws-sdk/client-iam";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Checkbox from "@cloudscape-design/components/checkbox";
import Container from "@cloudscape-design/components/container";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import { describeError, useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { useLoad, when } from "../shared/use-load";

/** IAM's passwordType: 1–128 characters of tab, newline, carriage return and U+0020–U+00FF. */
const PASSWORD = /^[\t\n\r\u0020-\u00FF]{1,128}$/;

export function LoginProfilePanel({ name }: { name: string }) {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const profile = useLoad(async (): Promise<LoginProfile | null> => {
    try {
      return (await iam.send(new GetLoginProfileCommand({ UserName: name }))).LoginProfile ?? null;
    } catch (e) {
      if (describeError(e).code === "NoSuchEntityException" || describeError(e).code === "NoSuchEntity") return null;
      throw e;
    }
  }, [iam, name]);
  const [password, setPassword] = useState("");
  const [resetRequired, setResetRequired] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setBusy(true);
    try {
      await what();
      setPassword("");
      notify.success(done);
      profile.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const p = profile.value;
  const passwordError = password && !PASSWORD.test(password) ? "1–128 characters (tab, line breaks and U+0020–U+00FF)" : undefined;
  const canSend = !!password && !passwordError && !busy;
  return (
    <Container
      data-testid="login-profile"
      header={
        <Header
          variant="h2"
          description="The password this user signs in to the console with (IAM user tab of the sign-in page)."
          actions={
            p ? (
              <SpaceBetween size="xs" direction="horizontal">
                {!p.PasswordResetRequired && (
                  <Button
                    disabled={busy}
                    onClick={() =>
                      void run(
                        () => iam.send(new UpdateLoginProfileCommand({ UserName: name, PasswordResetRequired: true })),
                        `${name} must change the password at the next sign-in.`,
                      )
                    }
                  >
                    Require password change
                  </Button>
                )}
                <Button
                  disabled={busy}
                  onClick={() =>
                    void run(() => iam.send(new DeleteLoginProfileCommand({ UserName: name })), `Console access of ${name} removed.`)
                  }
                >
                  Remove console password
                </Button>
              </SpaceBetween>
            ) : undefined
          }
        >
          Console password
        </Header>
      }
    >
      <SpaceBetween size="m">
        <ErrorAlert error={profile.error ?? error} />
        {profile.loading && profile.value === undefined ? (
          <Box>Loading…</Box>
        ) : p ? (
          <KeyValuePairs
            columns={3}
            items={[
              { label: "Console access", value: "Enabled" },
              { label: "Password set", value: when(p.CreateDate) },
              { label: "Must change at next sign-in", value: p.PasswordResetRequired ? "Yes" : "No" },
            ]}
          />
        ) : (
          <Box data-testid="no-login-profile">No console password: this user cannot sign in to the console.</Box>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!canSend) return;
            const input = { UserName: name, Password: password, PasswordResetRequired: resetRequired };
            void run(
              () => (p ? iam.send(new UpdateLoginProfileCommand(input)) : iam.send(new CreateLoginProfileCommand(input))),
              p ? `Console password of ${name} reset.` : `Console password of ${name} set.`,
            );
          }}
        >
          <SpaceBetween size="xs" direction="horizontal" alignItems="end">
            <FormField label={p ? "New console password" : "Console password"} errorText={passwordError}>
              <Input
                type="password"
                value={password}
                onChange={({ detail }) => setPassword(detail.value)}
                ariaLabel="Console password"
                autoComplete="new-password"
              />
            </FormField>
            <Checkbox checked={resetRequired} onChange={({ detail }) => setResetRequired(detail.checked)}>
              User must create a new password at next sign-in
            </Checkbox>
            <Button disabled={!canSend}>{p ? "Reset password" : "Enable console access"}</Button>
          </SpaceBetween>
        </form>
      </SpaceBetween>
    </Container>
  );
}

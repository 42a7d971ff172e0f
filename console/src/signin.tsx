/**
 * Sign-in: with an access key pair (checked by STS GetCallerIdentity, signed like every other
 * call), or as an IAM user with a console password, which keyhold exchanges for temporary
 * credentials at POST /_keyhold/console/signin. Nothing typed here is stored anywhere but in the
 * session's memory.
 *
 * A user whose password must be changed (its login profile's PasswordResetRequired, or a password
 * past the account policy's MaxPasswordAge) is taken to the change-password form: the old password
 * and a new one are sent to the same endpoint, which changes the password (the account's password
 * policy applies) and answers with a normal session.
 *
 * The STS client is loaded only when it is first needed (or when the browser is idle after the
 * form is shown): the first page carries no AWS SDK.
 */
import { useEffect, useState, type FormEvent } from "react";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Form from "@cloudscape-design/components/form";
import FormField from "@cloudscape-design/components/form-field";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Tabs from "@cloudscape-design/components/tabs";
import { clientConfig } from "./aws";
import { ErrorAlert } from "./errors";
import { nameOfArn, type Credentials, type Session } from "./session";

const SIGNIN_PATH = "/_keyhold/console/signin";

/** Who the credentials belong to, as STS says; throws AWS's error when they are not accepted. */
async function identify(credentials: Credentials, region: string): Promise<Session> {
  const { GetCallerIdentityCommand, STSClient } = await loadSts();
  const sts = new STSClient(clientConfig(credentials, region));
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    const arn = who.Arn ?? "";
    return { credentials, region, arn, account: who.Account ?? "", name: nameOfArn(arn) };
  } finally {
    sts.destroy();
  }
}

const loadSts = () => import("@aws-sdk/client-sts");

/** Loads the STS client (and the SDK's core, which every page shares) once the browser is idle. */
function prefetchSdk(): void {
  const load = () => void loadSts().catch(() => undefined);
  if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(load, { timeout: 3000 });
  else setTimeout(load, 500);
}

class SignInRefused extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

interface PasswordSignInReply {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string | number };
  passwordResetRequired?: boolean;
  __type?: string;
  message?: string;
}

async function passwordSignIn(
  account: string,
  userName: string,
  password: string,
  newPassword?: string,
): Promise<{ credentials: Credentials; passwordResetRequired: boolean }> {
  const response = await fetch(SIGNIN_PATH, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(newPassword === undefined ? { account, userName, password } : { account, userName, password, newPassword }),
    credentials: "omit",
    cache: "no-store",
  });
  let reply: PasswordSignInReply = {};
  try {
    reply = (await response.json()) as PasswordSignInReply;
  } catch {
    // Not JSON (a 404 from a keyhold without password sign-in): said below.
  }
  if (!response.ok || !reply.credentials) {
    if (response.status === 404)
      throw new SignInRefused("NotAvailable", "This keyhold does not offer password sign-in; sign in with an access key.");
    throw new SignInRefused(reply.__type ?? `HTTP ${response.status}`, reply.message ?? "Sign-in failed.");
  }
  const c = reply.credentials;
  const expiration = typeof c.expiration === "number" ? new Date(c.expiration * 1000) : new Date(c.expiration);
  return {
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration },
    passwordResetRequired: reply.passwordResetRequired === true,
  };
}

/** A password or secret key field: typed as a password, named for the browser's password manager. */
function SecretField(props: {
  label: string;
  errorText?: string;
  value: string;
  onChange(value: string): void;
  name: string;
  autoComplete: string;
}) {
  return (
    <FormField label={props.label} errorText={props.errorText}>
      <Input
        value={props.value}
        onChange={({ detail }) => props.onChange(detail.value)}
        type="password"
        name={props.name}
        autoComplete={props.autoComplete}
      />
    </FormField>
  );
}

export function SignIn({ onSignedIn }: { onSignedIn(session: Session): void }) {
  const [tab, setTab] = useState("password");
  const [region, setRegion] = useState("us-east-1");
  const [accessKeyId, setAccessKeyId] = useState("");
  const [secretAccessKey, setSecretAccessKey] = useState("");
  const [sessionToken, setSessionToken] = useState("");
  const [account, setAccount] = useState("");
  const [userName, setUserName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  /** Set when the password was right but must be changed: the change-password form is shown. */
  const [mustChange, setMustChange] = useState<{ account: string; userName: string; region: string } | undefined>(undefined);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (tab === "keys") {
        const credentials: Credentials = { accessKeyId: accessKeyId.trim(), secretAccessKey };
        if (sessionToken.trim()) credentials.sessionToken = sessionToken.trim();
        onSignedIn(await identify(credentials, region.trim()));
      } else {
        const signedIn = await passwordSignIn(account.trim(), userName.trim(), password);
        setPassword("");
        // The restricted session (ChangePassword only) is not kept: the change-password form
        // signs in again with the old password and the new one.
        if (signedIn.passwordResetRequired) setMustChange({ account: account.trim(), userName: userName.trim(), region: region.trim() });
        else onSignedIn(await identify(signedIn.credentials, region.trim()));
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  // The sign-in form is on screen and answers input: bench/console.ts reads this mark.
  useEffect(() => {
    performance.mark("keyhold:signin-interactive");
    prefetchSdk();
  }, []);

  if (mustChange)
    return (
      <ChangePassword
        {...mustChange}
        onChanged={onSignedIn}
        onCancel={() => {
          setMustChange(undefined);
          setError(undefined);
        }}
      />
    );

  const submitButton = (
    <Button variant="primary" loading={busy} formAction="submit" data-testid="signin-submit">
      Sign in
    </Button>
  );

  return (
    <Box padding={{ top: "xxxl", horizontal: "l" }}>
      <div style={{ maxWidth: 520, margin: "0 auto" }}>
        <form onSubmit={(e) => void submit(e)}>
          <Form
            header={
              <Header variant="h1" description="keyhold: KMS, S3, IAM, Secrets Manager and CloudTrail, served here.">
                Sign in
              </Header>
            }
            actions={submitButton}
          >
            <Container>
              <SpaceBetween size="m">
                <ErrorAlert error={error} header="Sign-in failed" />
                <Tabs
                  activeTabId={tab}
                  onChange={({ detail }) => setTab(detail.activeTabId)}
                  tabs={[
                    {
                      id: "password",
                      label: "IAM user",
                      content: (
                        <SpaceBetween size="s">
                          <FormField label="Account ID">
                            <Input
                              value={account}
                              onChange={({ detail }) => setAccount(detail.value)}
                              inputMode="numeric"
                              name="account"
                              autoComplete="username"
                            />
                          </FormField>
                          <FormField label="IAM user name">
                            <Input
                              value={userName}
                              onChange={({ detail }) => setUserName(detail.value)}
                              name="userName"
                              autoComplete="username"
                            />
                          </FormField>
                          <SecretField
                            label="Password"
                            value={password}
                            onChange={setPassword}
                            name="password"
                            autoComplete="current-password"
                          />
                        </SpaceBetween>
                      ),
                    },
                    {
                      id: "keys",
                      label: "Access key",
                      content: (
                        <SpaceBetween size="s">
                          <FormField label="Access key ID">
                            <Input
                              value={accessKeyId}
                              onChange={({ detail }) => setAccessKeyId(detail.value)}
                              name="accessKeyId"
                              autoComplete="off"
                            />
                          </FormField>
                          <SecretField
                            label="Secret access key"
                            value={secretAccessKey}
                            onChange={setSecretAccessKey}
                            name="secretAccessKey"
                            autoComplete="off"
                          />
                          <FormField label="Session token" description="Only for temporary credentials." secondaryControl={null}>
                            <Input
                              value={sessionToken}
                              onChange={({ detail }) => setSessionToken(detail.value)}
                              name="sessionToken"
                              autoComplete="off"
                            />
                          </FormField>
                        </SpaceBetween>
                      ),
                    },
                  ]}
                />
                <FormField label="Region">
                  <Input value={region} onChange={({ detail }) => setRegion(detail.value)} name="region" />
                </FormField>
              </SpaceBetween>
            </Container>
          </Form>
        </form>
      </div>
    </Box>
  );
}

/** IAM's passwordType: 1–128 characters of tab, newline, carriage return and U+0020–U+00FF. */
const PASSWORD = /^[\t\n\r\u0020-\u00FF]{1,128}$/;

/**
 * The AWS console's "Change password" sign-in step: the old password again, the new one twice.
 * The endpoint checks the old password, applies the account's password policy to the new one
 * (its refusal is shown in its words) and answers with a full session.
 */
function ChangePassword({
  account,
  userName,
  region,
  onChanged,
  onCancel,
}: {
  account: string;
  userName: string;
  region: string;
  onChanged(session: Session): void;
  onCancel(): void;
}) {
  const [oldPassword, setOldPassword] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [retyped, setRetyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const newError =
    newPassword && !PASSWORD.test(newPassword)
      ? "1–128 characters (tab, line breaks and U+0020–U+00FF)"
      : newPassword && newPassword === oldPassword
        ? "The new password must differ from the old one."
        : undefined;
  const retypeError = retyped && retyped !== newPassword ? "The passwords do not match." : undefined;
  const ready = !!oldPassword && !!newPassword && retyped === newPassword && !newError && !busy;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(undefined);
    try {
      const signedIn = await passwordSignIn(account, userName, oldPassword, newPassword);
      setOldPassword("");
      setNewPassword("");
      setRetyped("");
      onChanged(await identify(signedIn.credentials, region));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Box padding={{ top: "xxxl", horizontal: "l" }}>
      <div style={{ maxWidth: 520, margin: "0 auto" }} data-testid="change-password">
        <form onSubmit={(e) => void submit(e)}>
          <Form
            header={
              <Header variant="h1" description={`${userName} in account ${account} must choose a new password before continuing.`}>
                Change password
              </Header>
            }
            actions={
              <SpaceBetween size="xs" direction="horizontal">
                <Button formAction="none" variant="link" onClick={onCancel}>
                  Cancel
                </Button>
                <Button variant="primary" loading={busy} disabled={!ready} formAction="submit">
                  Confirm password change
                </Button>
              </SpaceBetween>
            }
          >
            <Container>
              <SpaceBetween size="m">
                <ErrorAlert error={error} header="Password not changed" />
                <SecretField
                  label="Old password"
                  value={oldPassword}
                  onChange={setOldPassword}
                  name="oldPassword"
                  autoComplete="current-password"
                />
                <SecretField
                  label="New password"
                  errorText={newError}
                  value={newPassword}
                  onChange={setNewPassword}
                  name="newPassword"
                  autoComplete="new-password"
                />
                <SecretField
                  label="Retype new password"
                  errorText={retypeError}
                  value={retyped}
                  onChange={setRetyped}
                  name="retypedPassword"
                  autoComplete="new-password"
                />
              </SpaceBetween>
            </Container>
          </Form>
        </form>
      </div>
    </Box>
  );
}

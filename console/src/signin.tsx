/**
 * Sign-in: with an access key pair (checked by STS GetCallerIdentity, signed like every other
 * call), or as an IAM user with a console password, which keyhold exchanges for temporary
 * credentials at POST /_keyhold/console/signin. Nothing typed here is stored anywhere but in the
 * session's memory.
 */
import { useEffect, useState, type FormEvent } from "react";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
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
  const sts = new STSClient(clientConfig(credentials, region));
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    const arn = who.Arn ?? "";
    return { credentials, region, arn, account: who.Account ?? "", name: nameOfArn(arn) };
  } finally {
    sts.destroy();
  }
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
): Promise<{ credentials: Credentials; passwordResetRequired: boolean }> {
  const response = await fetch(SIGNIN_PATH, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ account, userName, password }),
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
        // A password that must be changed still signs in: IAM ChangePassword is the next call.
        onSignedIn(await identify(signedIn.credentials, region.trim()));
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
  }, []);

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
                          <FormField label="Password">
                            <Input
                              value={password}
                              onChange={({ detail }) => setPassword(detail.value)}
                              type="password"
                              name="password"
                              autoComplete="current-password"
                            />
                          </FormField>
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
                          <FormField label="Secret access key">
                            <Input
                              value={secretAccessKey}
                              onChange={({ detail }) => setSecretAccessKey(detail.value)}
                              type="password"
                              name="secretAccessKey"
                              autoComplete="off"
                            />
                          </FormField>
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

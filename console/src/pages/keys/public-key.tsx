/** An asymmetric key's public key (GetPublicKey), as PEM, to copy or download. */
import { useEffect, useState } from "react";
import { GetPublicKeyCommand, KMSClient, type GetPublicKeyResponse } from "@aws-sdk/client-kms";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Header from "@cloudscape-design/components/header";
import Spinner from "@cloudscape-design/components/spinner";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";

export function toPem(der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const base64 = btoa(binary);
  return `-----BEGIN PUBLIC KEY-----\n${base64.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END PUBLIC KEY-----\n`;
}

export function PublicKeyTab({ keyId, name }: { keyId: string; name: string }) {
  const kms = useClient(KMSClient);
  const [key, setKey] = useState<GetPublicKeyResponse | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    kms
      .send(new GetPublicKeyCommand({ KeyId: keyId }))
      .then((out) => live && setKey(out))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kms, keyId]);
  if (error) return <ErrorAlert error={error} header="The public key could not be read" />;
  if (!key?.PublicKey) return <Spinner />;
  const pem = toPem(key.PublicKey);
  function download() {
    const url = URL.createObjectURL(new Blob([pem], { type: "application/x-pem-file" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${name.replace(/[^A-Za-z0-9._-]/g, "_")}_public_key.pem`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return (
    <Container
      header={
        <Header
          variant="h2"
          description={`${key.KeySpec} · ${key.KeyUsage}`}
          actions={
            <Button iconName="download" onClick={download}>
              Download
            </Button>
          }
        >
          Public key
        </Header>
      }
    >
      <Box variant="code" data-testid="public-key">
        <pre>{pem}</pre>
      </Box>
    </Container>
  );
}

/** One IAM role: its trust policy and its policies. */
import { DeleteRoleCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import ContentLayout from "@cloudscape-design/components/content-layout";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import type { PageProps } from "..";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";
import { navigate } from "../../router";
import { useLoad, when } from "../shared/use-load";
import { PoliciesPanel, policyText } from "./policies-panel";

export default function RolePage({ params }: PageProps) {
  const iam = useClient(IAMClient);
  const notify = useNotify();
  const name = params.name ?? "";
  const role = useLoad(() => iam.send(new GetRoleCommand({ RoleName: name })), [iam, name]);
  const remove = async () => {
    try {
      await iam.send(new DeleteRoleCommand({ RoleName: name }));
      notify.success(`Role ${name} deleted.`);
      navigate("/iam/roles");
    } catch (e) {
      notify.error(e);
    }
  };
  if (role.error) return <ErrorAlert error={role.error} />;
  const r = role.value?.Role;
  return (
    <ContentLayout
      header={
        <Header variant="h1" actions={<Button onClick={() => void remove()}>Delete role</Button>}>
          {name}
        </Header>
      }
    >
      <SpaceBetween size="l">
        <Container header={<Header variant="h2">Summary</Header>}>
          <KeyValuePairs
            columns={3}
            items={[
              { label: "ARN", value: r?.Arn ?? "-" },
              { label: "Created", value: when(r?.CreateDate) },
              { label: "Maximum session", value: r?.MaxSessionDuration ? `${r.MaxSessionDuration / 3600} h` : "-" },
            ]}
          />
        </Container>
        <Container header={<Header variant="h2">Trust policy</Header>}>
          <Box variant="code">
            <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>{policyText(r?.AssumeRolePolicyDocument)}</pre>
          </Box>
        </Container>
        <PoliciesPanel kind="Role" name={name} />
      </SpaceBetween>
    </ContentLayout>
  );
}

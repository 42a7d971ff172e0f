import Header from "@cloudscape-design/components/header";

export default function CreateKey() {
  return <Header variant="h1">Create key</Header>;
}

require ["variables", "fileinto"];
if header :matches "list-id" "*<*.lists.example.org>" {
  fileinto "Lists/${2}";
}
if header :matches "subject" "[*] *" {
  set "tag" "${1}";
  set "rest" "${2}";
}
fileinto "T/${tag}/${rest}/${0}";

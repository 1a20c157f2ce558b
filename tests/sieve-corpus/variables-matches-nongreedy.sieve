require ["variables", "fileinto"];
if header :matches "from" "*@*" {
  fileinto "F/${1}/${2}";
}

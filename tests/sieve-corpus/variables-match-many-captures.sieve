require ["variables", "fileinto"];
if header :matches "received" "from * (* [*])*by *;*" {
  fileinto "R/${1}/${2}/${3}/${5}";
}

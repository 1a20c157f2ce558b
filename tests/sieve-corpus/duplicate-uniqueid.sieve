require ["duplicate", "variables", "fileinto"];
if header :matches "subject" "*" {
  if duplicate :uniqueid "${1}" :seconds 60 { discard; stop; }
}
fileinto "Fresh";

require "fileinto";
if address :matches :domain "from" "*.example" { fileinto "Sub"; }

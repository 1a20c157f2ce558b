require ["index", "fileinto"];
if address :index 1 :is "cc" "bob@example.org" { fileinto "CcFirst"; }

require ["body", "fileinto"];
if body :raw :matches "*--outer--*" { fileinto "RawEnd"; }

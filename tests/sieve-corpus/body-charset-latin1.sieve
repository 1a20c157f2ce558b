require ["body", "fileinto"];
if body :text :contains "café crème" { fileinto "Decoded"; }
if body :raw :contains "caf=E9" { fileinto "Raw"; }

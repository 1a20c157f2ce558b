require ["body", "fileinto"];
if body :contains "x" { fileinto "Wrong"; }
if not body :contains "x" { fileinto "NoBody"; }

require ["body", "fileinto"];
if body :content "multipart" :contains "MIME format" { fileinto "Prologue"; }
if body :content "application/octet-stream" :contains "secret" { fileinto "Wrong"; }

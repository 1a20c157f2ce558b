require ["body", "fileinto"];
if body :raw :contains "ban=" { fileinto "RawQP"; }
if body :raw :contains "banana" { fileinto "Wrong"; }
if body :raw :contains "c2VjcmV0IGF0dGFjaG1lbnQ" { fileinto "RawB64"; }

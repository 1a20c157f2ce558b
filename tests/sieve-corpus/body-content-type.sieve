require ["body", "fileinto"];
if body :content "text/html" :contains "html-only" { fileinto "Html"; }
if body :content "text/plain" :contains "html-only" { fileinto "Wrong"; }
if body :content "text" :contains "noon" { fileinto "Text"; }

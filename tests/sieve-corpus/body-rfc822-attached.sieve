require ["body", "fileinto"];
if body :content "text" :contains "forwarded secret" { fileinto "Nested"; }
if body :text :contains "outer text" { fileinto "Outer"; }

require ["index", "fileinto"];
if header :index 1 :contains "received" "mx.b.example" { fileinto "First"; }
if header :index 2 :contains "received" "a.example" { fileinto "Second"; }
if header :index 1 :last :contains "received" "a.example" { fileinto "Last"; }
if header :index 3 :contains "received" "" { fileinto "Wrong"; }

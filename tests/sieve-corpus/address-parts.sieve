require "fileinto";
if address :is :all "from" "alice@example.net" { fileinto "All"; }
if address :is :localpart "from" "alice" { fileinto "Local"; }
if address :is :domain "from" "EXAMPLE.NET" { fileinto "Domain"; }

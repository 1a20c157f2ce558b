require "fileinto";
if header :contains "subject" "=?X-UNKNOWN?Q?zz?=" { fileinto "Kept"; }
if header :contains "subject" "zz" { fileinto "Some"; }

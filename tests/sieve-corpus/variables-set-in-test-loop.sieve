require ["variables", "fileinto"];
set "n" "";
if header :matches "cc" "*,*" { set "n" "${n}x"; }
if header :matches "cc" "*,*,*" { set "n" "${n}y"; }
fileinto "N${n}";

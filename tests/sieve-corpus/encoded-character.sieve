require ["encoded-character", "fileinto"];
fileinto "${hex:48 65 6C 6c 6F}";
if header :contains "subject" "${unicode:47}r${unicode:00fc}" { fileinto "Unicode"; }
fileinto "${hex:zz}";

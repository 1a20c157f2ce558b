require "fileinto";
if header :contains ["to", "cc"] ["nobody", "carol@"] { fileinto "Either"; }

require "fileinto";

filein "X";

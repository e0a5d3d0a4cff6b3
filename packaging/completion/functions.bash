
# The _toolkit_* tables are defined above by the generator.
# shellcheck disable=SC2154

# Offer values of one kind (user, group, file, none) for the word being completed.
_toolkit_values() {
    case $1 in
    user) mapfile -t COMPREPLY < <(compgen -u -- "$2") ;;
    group) mapfile -t COMPREPLY < <(compgen -g -- "$2") ;;
    file) mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
    *) COMPREPLY=() ;;
    esac
}

# Whatever comes after an applet's operands is a program of its own: another
# applet (completed here) or anything else (left to bash-completion, if loaded).
_toolkit_next() {
    local program=${COMP_WORDS[$1]}
    if [[ " $_toolkit_applets " == *" $program "* ]]; then
        _toolkit_chain "$program" "$1"
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$1"
    else
        mapfile -t COMPREPLY < <(compgen -f -- "${COMP_WORDS[COMP_CWORD]}")
    fi
}

# Complete the current word for APPLET, whose name is COMP_WORDS[INDEX].
_toolkit_chain() {
    local applet=$1 i=$(($2 + 1)) cword=$COMP_CWORD
    local cur=${COMP_WORDS[COMP_CWORD]} valued=" ${_toolkit_valued[$1]} "
    local -a operands
    read -r -a operands <<<"${_toolkit_operands[$1]}"
    local in_options=1 seen=0 word kind j
    while ((i < cword)); do
        word=${COMP_WORDS[i]}
        if ((in_options)) && [[ $word == -- ]]; then
            in_options=0
        elif ((in_options)) && [[ $word == --* ]]; then
            if [[ ${COMP_WORDS[i + 1]-} == = ]]; then
                ((i += 1)) # --name = value, as bash splits it at '='
                kind=none
                [[ $valued == *" $word="* ]] && kind=${valued#* "$word"=} && kind=${kind%% *}
                if ((i + 1 == cword)); then _toolkit_values "$kind" "$cur"; return; fi
                ((i + 1 < cword)) && ((i += 1))
            elif [[ $word != *=* && $valued == *" $word="* ]]; then
                kind=${valued#* "$word"=} kind=${kind%% *}
                if ((i + 1 == cword)); then _toolkit_values "$kind" "$cur"; return; fi
                ((i += 1))
            fi
        elif ((in_options)) && [[ $word == -?* ]]; then
            for ((j = 1; j < ${#word}; j++)); do
                if [[ $valued == *" -${word:j:1}="* ]]; then
                    if ((j == ${#word} - 1)); then
                        kind=${valued#* "-${word:j:1}"=} kind=${kind%% *}
                        if ((i + 1 == cword)); then _toolkit_values "$kind" "$cur"; return; fi
                        ((i += 1))
                    fi
                    break
                fi
            done
        else
            in_options=0
            if ((seen == ${#operands[@]})); then
                _toolkit_next "$i"
                return
            fi
            ((seen += 1))
        fi
        ((i += 1))
    done
    if ((in_options)) && [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_toolkit_options[$applet]}" -- "$cur")
    elif ((seen < ${#operands[@]})); then
        _toolkit_values "${operands[seen]}" "$cur"
    else
        mapfile -t COMPREPLY < <(compgen -W "$_toolkit_applets" -- "$cur"; compgen -c -- "$cur" | sort -u)
    fi
}

_toolkit() {
    local command=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]}
    COMPREPLY=()
    if [[ " $_toolkit_applets " == *" $command "* ]]; then
        _toolkit_chain "$command" 0
        return
    fi
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "$_toolkit_applets --list --help --version --install" -- "$cur")
        return
    fi
    local first=${COMP_WORDS[1]}
    if [[ $first == --install ]]; then
        if ((COMP_CWORD == 2)) && [[ $cur == -* ]]; then
            COMPREPLY=(-s)
        elif ((COMP_CWORD == 2)) || { ((COMP_CWORD == 3)) && [[ ${COMP_WORDS[2]} == -s ]]; }; then
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        fi
        return
    fi
    [[ " $_toolkit_applets " == *" $first "* ]] && _toolkit_chain "$first" 1
}
